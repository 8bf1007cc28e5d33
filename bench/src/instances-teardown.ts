/**
 * Tears down the bench's cloud and sweeps what a failed `kumo down` can leave, touching only what is
 * provably this cloud's: mounts under its home, netns named with its prefix, and containers in the
 * cgroups of the runtime ids of its own instances (`kumo down --purge` with 50 running containers
 * has left processes, cgroups and overlay mounts behind here; see the report).
 */
import { spawnSync } from "node:child_process";
import { readFile, readdir, rm } from "node:fs/promises";
import { InstanceKind, type Instance } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { runtimeId } from "@kumo/agent/agent/instance-spec";

const CONTROLLERS = ["memory", "cpu", "cpuacct", "pids", "cpuset", "devices", "freezer", "blkio", "systemd", "unified"];

/** Deletes instances (API), runs `kumo down --purge`, then sweeps leftovers; returns what it found. */
export async function teardownCloud(o: {
  kumo: string;
  env: NodeJS.ProcessEnv;
  home: string;
  prefix: string;
  ns: string;
  client?: KumoClient;
  deleteAndWait: (c: KumoClient, names: string[], ms: number) => Promise<void>;
}): Promise<string[]> {
  const left: string[] = [];
  let ids: string[] = [];
  // Instances first, through the API (each agent's own teardown), which is the path that works.
  if (o.client) {
    const items = (await o.client.listAll<Instance>(InstanceKind, o.ns).catch(() => ({ items: [] as Instance[] }))).items;
    ids = items.filter((i) => i.metadata.uid).map(runtimeId);
    await o
      .deleteAndWait(
        o.client,
        items.map((i) => i.metadata.name!),
        120_000,
      )
      .catch((e: Error) => left.push(`deleting instances: ${e.message}`));
  }
  const r = spawnSync(o.kumo, ["down", "--purge"], { env: o.env, encoding: "utf8", timeout: 180_000 });
  if (r.status !== 0) left.push(`kumo down failed: ${r.stderr.trim()}`);
  for (const id of ids) {
    const procs = (await readFile(`/sys/fs/cgroup/memory/kumo/${id}/cgroup.procs`, "utf8").catch(() => ""))
      .split("\n")
      .filter(Boolean)
      .map(Number);
    for (const pid of procs) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    if (procs.length) left.push(`killed ${procs.length} leftover process(es) of container ${id}`);
  }
  if (ids.length) await new Promise((res) => setTimeout(res, 200));
  for (const id of ids) for (const c of CONTROLLERS) spawnSync("rmdir", [`/sys/fs/cgroup/${c}/kumo/${id}`]);
  const mounts = (await readFile("/proc/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m): m is string => !!m && m.startsWith(o.home + "/"));
  for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
  if (mounts.length) left.push(`unmounted ${mounts.length} leftover mount(s) under ${o.home}`);
  const netns = (await readdir("/run/netns").catch(() => [] as string[])).filter((n) => n.startsWith(`${o.prefix}-`));
  for (const n of netns) spawnSync("ip", ["netns", "del", n]);
  if (netns.length) left.push(`deleted ${netns.length} leftover netns: ${netns.join(" ")}`);
  const procs = spawnSync("pgrep", ["-f", o.home], { encoding: "utf8" }).stdout.trim();
  if (procs) left.push(`processes still running from ${o.home} (not killed): ${procs.split("\n").join(" ")}`);
  else await rm(o.home, { recursive: true, force: true });
  return left;
}
