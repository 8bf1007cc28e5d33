/**
 * Scheduler figures from the existing scheduler bench (packages/server/.../scheduler.bench.ts), run
 * as a child process (it runs on import) and read from its output: placements/s for a backlog with
 * 1,000 API-registered, heartbeated hosts, decision latency, and its same-run store floor.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO } from "./instances-cloud.js";

/** What the scheduler bench printed. */
export interface SchedulerFigures {
  hosts: number;
  backlog: number;
  placementsPerSecond: number;
  decisionP50Ms: number;
  decisionP99Ms: number;
  storeFloorPairsPerSecond: number;
  livePerSecond: number;
  registerSeconds: number;
  raw: string;
}

/** Runs the scheduler bench with `hosts` hosts and a backlog of `backlog` instances (+ `live`). */
export async function schedulerBench(hosts: number, backlog: number, live: number, timeoutMs = 200_000): Promise<SchedulerFigures> {
  // The child's data dir goes under a TMPDIR of ours, so it is removed even if the child is killed.
  const tmp = await mkdtemp(join(tmpdir(), "kumo-bench-sched-"));
  try {
    return await runChild(tmp, hosts, backlog, live, timeoutMs);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function runChild(tmp: string, hosts: number, backlog: number, live: number, timeoutMs: number): Promise<SchedulerFigures> {
  const script = join(REPO, "packages/server/dist/controllers/compute/scheduler.bench.js");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, "--hosts", String(hosts), "--instances", String(backlog), "--live", String(live)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TMPDIR: tmp, KUMO_LOG_LEVEL: "error" },
    });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    // If this process exits first (Ctrl-C), the child and its data go with it.
    const onExit = () => {
      child.kill("SIGKILL");
      rmSync(tmp, { recursive: true, force: true });
    };
    process.once("exit", onExit);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      process.off("exit", onExit);
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
      const f: SchedulerFigures = {
        hosts: num(/registered (\d+) hosts/),
        backlog: num(/backlog\s+(\d+) placements/),
        placementsPerSecond: num(/= (\d+) placements\/s/),
        decisionP50Ms: num(/decision latency.*p50 ([\d.]+) ms/),
        decisionP99Ms: num(/decision latency.*p99 ([\d.]+) ms/),
        storeFloorPairsPerSecond: num(/store floor: (\d+)/),
        livePerSecond: num(/= (\d+) instances\/s end to end/),
        registerSeconds: num(/through the API in ([\d.]+) s/),
        raw: out,
      };
      if (code !== 0 || Number.isNaN(f.placementsPerSecond) || Number.isNaN(f.decisionP99Ms)) {
        reject(
          new Error(
            `scheduler bench ${code === null ? "timed out" : `exited ${code}`} or printed no figures: ` +
              (err || out).trim().split("\n").slice(-5).join(" | "),
          ),
        );
      } else resolve(f);
    });
  });
}
