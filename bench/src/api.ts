/**
 * `node bench/dist/api.js [--scale 0.2]`: the API server's throughput and latencies on sqlite, next to the
 * disk's own fdatasync cost measured in the same run. The server runs in a child process with production
 * defaults; the load generator shares the machine with it (2 cores on CI), as it would on a small host.
 * Prints a table and, last, one JSON line. Exit code 0 even on MISS: this is a measurement, not a test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { sqliteBaseline } from "./baseline.js";
import { Client, closedLoop, type LoadResult, startServer, type ServerProcess } from "./http.js";
import { int, ms, r3, summarize, type Summary } from "./stats.js";
import { watchFanOut } from "./watchers.js";

const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
const IN_FLIGHT = 32;
const scaleArg = process.argv.indexOf("--scale");
const SCALE = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
const N = {
  baseline: Math.round(2_000 * SCALE),
  warmup: 200,
  serial: Math.round(1_000 * SCALE),
  listSize: Math.round(10_000 * SCALE),
  updates: Math.round(2_000 * SCALE),
  serialUpdates: Math.round(500 * SCALE),
  listRuns: 5,
  watchers: Math.round(1_000 * SCALE),
  rounds: 10,
};

const hostBody = (name: string, i: number) => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name, labels: { "bench.kumo.dev/set": String(i % 10) } },
  spec: { capacity: { cpu: 4000 + (i % 64), memoryMiB: 16384 } },
});

interface Row {
  what: string;
  value: string;
  target?: string;
  pass?: boolean;
}

const rows: Row[] = [];
const row = (what: string, value: string, target?: string, pass?: boolean) => {
  rows.push({ what, value, target, pass });
  const mark = pass === undefined ? "" : pass ? "PASS" : "MISS";
  process.stderr.write(`  ${what}: ${value}${target ? `  [target ${target}: ${mark}]` : ""}\n`);
};

function creates(res: LoadResult): { perSecond: number; lat: Summary } {
  return { perSecond: res.latencies.length / res.seconds, lat: summarize(res.latencies) };
}

/** Runs a phase and reports the server's CPU time per successful request (CPU-bound or waiting on the disk?). */
async function measured(server: ServerProcess, run: () => Promise<LoadResult>): Promise<LoadResult & { cpuMsPerOp: number }> {
  const before = server.cpuSeconds();
  const res = await run();
  return { ...res, cpuMsPerOp: ((server.cpuSeconds() - before) * 1000) / Math.max(1, res.latencies.length) };
}

const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

function check(res: LoadResult, what: string): void {
  if (res.errors.length) throw new Error(`${what}: ${res.errors.length} failed requests, e.g. ${res.errors[0]}`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "kumo-bench-"));
  let server: ServerProcess | undefined;
  let client: Client | undefined;
  const started = performance.now();
  try {
    process.stderr.write(`kumo API benchmark (scale ${SCALE}) in ${dir}, load average ${load()}\n`);
    const loadBefore = load();
    const base = sqliteBaseline(dir, N.baseline);
    row(
      "baseline: sqlite WAL synchronous=FULL, 1-row commit",
      `p50 ${ms(base.commits.p50)}  p99 ${ms(base.commits.p99)}  (${int(base.perSecond)} commits/s)`,
    );

    server = await startServer(join(dir, "server"), `sqlite://${join(dir, "server", "kumo.db")}`);
    client = new Client(server, IN_FLIGHT);
    let made = 0;
    const create = (i: number) => ({ method: "POST", path: HOSTS, body: hostBody(`bench-${made + i}`, made + i) });
    const warm = await closedLoop(client, N.warmup, IN_FLIGHT, 201, create);
    check(warm, "warm-up");
    made += N.warmup;

    const serialRes = await measured(server, () => closedLoop(client!, N.serial, 1, 201, create));
    check(serialRes, "serial creates");
    made += N.serial;
    const serial = creates(serialRes);
    const serialTarget = base.commits.p50 + 1;
    row(
      "create, serial (1 in flight)",
      `${int(serial.perSecond)}/s  p50 ${ms(serial.lat.p50)}  p99 ${ms(serial.lat.p99)}  (server CPU ${ms(serialRes.cpuMsPerOp)}/op)`,
      `p50 ≤ baseline p50 + 1 ms = ${ms(serialTarget)}`,
      serial.lat.p50 <= serialTarget,
    );

    const concN = Math.max(N.listSize - made, N.warmup);
    const concRes = await measured(server, () => closedLoop(client!, concN, IN_FLIGHT, 201, create));
    check(concRes, "concurrent creates");
    made += concN;
    const conc = creates(concRes);
    row(
      `create, ${IN_FLIGHT} in flight (${int(concN)} objects)`,
      `${int(conc.perSecond)}/s  p50 ${ms(conc.lat.p50)}  p99 ${ms(conc.lat.p99)}  (server CPU ${ms(concRes.cpuMsPerOp)}/op)`,
      "≥ 2,000/s",
      conc.perSecond >= 2000,
    );
    row(`create, ${IN_FLIGHT} in flight: p99`, ms(conc.lat.p99), "≤ 25 ms", conc.lat.p99 <= 25);

    const patch = (i: number) => ({
      method: "PATCH",
      path: `${HOSTS}/bench-${i % made}?fieldManager=bench-update`,
      body: { metadata: { annotations: { "bench.kumo.dev/n": String(i) } } },
      contentType: "application/merge-patch+json",
    });
    const updSerialRes = await closedLoop(client, N.serialUpdates, 1, 200, patch);
    check(updSerialRes, "serial updates");
    const updSerial = summarize(updSerialRes.latencies);
    row("update (merge patch), serial", `p50 ${ms(updSerial.p50)}  p99 ${ms(updSerial.p99)}`);
    const updRes = await measured(server, () => closedLoop(client!, N.updates, IN_FLIGHT, 200, (i) => patch(i + N.serialUpdates)));
    check(updRes, "concurrent updates");
    const upd = summarize(updRes.latencies);
    row(
      `update (merge patch), ${IN_FLIGHT} in flight`,
      `${int(updRes.latencies.length / updRes.seconds)}/s  p50 ${ms(upd.p50)}  p99 ${ms(upd.p99)}` +
        `  (server CPU ${ms(updRes.cpuMsPerOp)}/op)`,
    );

    const listLat: number[] = [];
    let listBytes = 0;
    let listed = 0;
    for (let i = 0; i < N.listRuns; i++) {
      const rep = await client.send("GET", HOSTS, undefined, undefined, i === 0);
      if (rep.status !== 200) throw new Error(`list answered ${rep.status}`);
      if (rep.text) listed = (JSON.parse(rep.text) as { items: unknown[] }).items.length;
      listLat.push(rep.ms);
      listBytes = rep.bytes;
    }
    if (listed !== made) throw new Error(`list returned ${listed} objects, expected ${made}`);
    const list = summarize(listLat);
    row(
      `list ${int(listed)} objects (${(listBytes / 1048576).toFixed(1)} MiB, ${N.listRuns} runs)`,
      `p50 ${ms(list.p50)}  max ${ms(list.max)}`,
    );

    const fan = await watchFanOut(client, HOSTS, `${HOSTS}/bench-0`, N.watchers, N.rounds);
    row(`watch fan-out: ${int(fan.watchers)} watchers opened`, `${fan.openSeconds.toFixed(1)} s`);
    row(
      `watch fan-out: write → each watcher (${fan.rounds} changes)`,
      `p50 ${ms(fan.delivery.p50)}  p99 ${ms(fan.delivery.p99)}  max ${ms(fan.delivery.max)}  lost ${fan.lost}`,
      "p99 ≤ 100 ms, none lost",
      fan.delivery.p99 <= 100 && fan.lost === 0,
    );
    row("watch fan-out: write → last watcher, per change", `p50 ${ms(fan.lastWatcher.p50)}  max ${ms(fan.lastWatcher.max)}`);

    const total = (performance.now() - started) / 1000;
    const loadAfter = load();
    printTable(total, loadBefore, loadAfter);
    const result = {
      bench: "api",
      scale: SCALE,
      cpus: availableParallelism(),
      node: process.version,
      seconds: r3(total),
      loadAverage: { before: loadBefore, after: loadAfter },
      baseline: { commitP50Ms: r3(base.commits.p50), commitP99Ms: r3(base.commits.p99), commitsPerSecond: r3(base.perSecond) },
      createSerial: {
        perSecond: r3(serial.perSecond),
        p50Ms: r3(serial.lat.p50),
        p99Ms: r3(serial.lat.p99),
        n: serial.lat.n,
        serverCpuMsPerOp: r3(serialRes.cpuMsPerOp),
      },
      createConcurrent: {
        inFlight: IN_FLIGHT,
        perSecond: r3(conc.perSecond),
        p50Ms: r3(conc.lat.p50),
        p99Ms: r3(conc.lat.p99),
        n: conc.lat.n,
        serverCpuMsPerOp: r3(concRes.cpuMsPerOp),
      },
      updateSerial: { p50Ms: r3(updSerial.p50), p99Ms: r3(updSerial.p99), n: updSerial.n },
      updateConcurrent: { inFlight: IN_FLIGHT, p50Ms: r3(upd.p50), p99Ms: r3(upd.p99), n: upd.n, serverCpuMsPerOp: r3(updRes.cpuMsPerOp) },
      list: { objects: listed, bytes: listBytes, p50Ms: r3(list.p50), maxMs: r3(list.max) },
      watchFanOut: {
        watchers: fan.watchers,
        rounds: fan.rounds,
        p50Ms: r3(fan.delivery.p50),
        p99Ms: r3(fan.delivery.p99),
        maxMs: r3(fan.delivery.max),
        lastWatcherP50Ms: r3(fan.lastWatcher.p50),
        lost: fan.lost,
      },
      targets: Object.fromEntries(rows.filter((r) => r.target).map((r) => [`${r.what} ${r.target}`, r.pass ? "PASS" : "MISS"])),
    };
    process.stdout.write(JSON.stringify(result) + "\n");
  } finally {
    client?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function printTable(totalSeconds: number, loadBefore: string, loadAfter: string): void {
  const w1 = Math.max(...rows.map((r) => r.what.length));
  const w2 = Math.max(...rows.map((r) => r.value.length));
  const w3 = Math.max(6, ...rows.map((r) => (r.target ?? "").length));
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w1)}  ${b.padEnd(w2)}  ${c.padEnd(w3)}  ${d}`;
  const out = [
    "",
    `kumo API benchmark: sqlite store, server in a child process (audit log on), ${availableParallelism()} CPUs, ` +
      `Node ${process.version}, ${totalSeconds.toFixed(0)} s`,
    `load average before ${loadBefore}, after ${loadAfter} (other work on this machine skews every figure, the baseline included)`,
    line("measurement", "result", "target", ""),
    line("-".repeat(w1), "-".repeat(w2), "-".repeat(w3), "----"),
    ...rows.map((r) => line(r.what, r.value, r.target ?? "", r.pass === undefined ? "" : r.pass ? "PASS" : "MISS")),
    "",
  ];
  process.stdout.write(out.join("\n") + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
