/**
 * Scheduler bench (prints figures; not a test). An in-process server with 1,000 hosts registered and
 * heartbeated through the API, a Ready image, then:
 *   1. backlog: N admitted instances, the scheduler started on them; placements/s and decision p50/p99,
 *      beside a same-run floor of the store doing the same number of read-modify-write pairs (the two commits
 *      a placement needs: Host reservation + Instance bind) at the same concurrency;
 *   2. live: M instances created through the API while the scheduler runs; create → bound throughput;
 *   3. single: 200 instances created one at a time; the decision latency without queueing.
 *
 *   node packages/server/dist/controllers/compute/scheduler.bench.js [--hosts 1000] [--instances 2000]
 *        [--live 1000] [--datastore sqlite|memory] [--policy spread|pack]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { HostKind, InstanceKind, SecretKind } from "@kumo/api";
import { startTestServer, type TestServer } from "../../testing.js";
import { EventRecorder } from "../../observability/events.js";
import { instanceResources } from "./resources.js";
import { Scheduler } from "./scheduler.js";
import type { SchedulePolicy } from "./score.js";
import { P, hostObject, instanceObject, readyImage } from "./test-support.js";

let WORKERS = 8;

/** Polls every 250 ms: listing thousands of objects every 50 ms would itself load the server being measured. */
async function until(what: string, pred: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Runs `f(i)` for i < n with at most `conc` in flight. */
async function pool(n: number, conc: number, f: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(conc, n) }, async () => {
      while (next < n) await f(next++);
    }),
  );
}

async function ok(p: Promise<{ status: number; text: string }>, want: number, what: string): Promise<void> {
  const r = await p;
  if (r.status !== want) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

async function registerHosts(s: TestServer, n: number): Promise<number> {
  const t = performance.now();
  await pool(n, 50, (i) =>
    ok(
      s.call("POST", P.hosts, {
        body: hostObject(
          `bench-${String(i).padStart(4, "0")}`,
          { cpu: 64_000, memoryMiB: 262_144, instances: 110 },
          { rack: `r${i % 40}` },
        ),
      }),
      201,
      "host",
    ),
  );
  await pool(n, 50, (i) =>
    ok(
      s.call("PATCH", `${P.hosts}/bench-${String(i).padStart(4, "0")}/status?fieldManager=kumo-agent`, {
        body: { status: { lastHeartbeatTime: new Date().toISOString() } },
        contentType: "application/merge-patch+json",
      }),
      200,
      "heartbeat",
    ),
  );
  const { store } = s.deps;
  await until(
    "all hosts Ready",
    async () =>
      (await store.list(HostKind, undefined)).items.filter((h) =>
        h.status!.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
      ).length === n,
    120_000,
  );
  return (performance.now() - t) / 1000;
}

async function createInstances(s: TestServer, prefix: string, n: number): Promise<void> {
  await pool(n, 64, (i) => ok(s.call("POST", P.instances(), { body: instanceObject(`${prefix}-${i}`) }), 201, "instance"));
}

async function admitted(s: TestServer, n: number): Promise<void> {
  await until(
    `${n} instances admitted`,
    async () => (await s.deps.store.list(InstanceKind, "default")).items.filter((i) => instanceResources(i)).length >= n,
    300_000,
  );
}

/** The same number of read-modify-write pairs on plain objects: what the store alone can do. */
async function storeFloor(s: TestServer, pairs: number): Promise<number> {
  const { store } = s.deps;
  const ctx = { user: "bench", manager: "bench" };
  for (let i = 0; i < 1000; i++)
    await store.create(
      SecretKind,
      "default",
      { apiVersion: "v1", kind: "Secret", metadata: { name: `floor-${i}` }, data: { n: "MA==" } },
      ctx,
    );
  const t = performance.now();
  await pool(pairs, WORKERS, async (i) => {
    const bump = (cur: Record<string, unknown>) => ({ ...cur, data: { n: Buffer.from(String(i)).toString("base64") } }) as never;
    await store.guaranteedUpdate(SecretKind, "default", `floor-${i % 1000}`, ctx, bump);
    await store.guaranteedUpdate(SecretKind, "default", `floor-${(i * 7 + 3) % 1000}`, ctx, bump);
  });
  return pairs / ((performance.now() - t) / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      hosts: { type: "string", default: "1000" },
      instances: { type: "string", default: "2000" },
      live: { type: "string", default: "1000" },
      datastore: { type: "string", default: "sqlite" },
      policy: { type: "string", default: "spread" },
      workers: { type: "string", default: "32" },
    },
  });
  WORKERS = Number(values.workers);
  const hosts = Number(values.hosts);
  const n = Number(values.instances);
  const live = Number(values.live);
  const dir = await mkdtemp(join(tmpdir(), "kumo-sched-bench-"));
  process.env.KUMO_LOG_LEVEL ??= "error";
  const s = await startTestServer({
    dataDir: dir,
    datastore: values.datastore === "memory" ? "memory://" : `sqlite://${join(dir, "kumo.db")}`,
    heartbeatGraceMs: 3_600_000,
    scheduler: false,
  });
  let sched: Scheduler | undefined;
  try {
    const regSecs = await registerHosts(s, hosts);
    await readyImage(s);
    console.log(`registered ${hosts} hosts through the API in ${regSecs.toFixed(1)} s (${values.datastore})`);

    // 1. Backlog: every instance admitted before the scheduler starts.
    await createInstances(s, "backlog", n);
    await admitted(s, n);
    const { store, cache, log, metrics } = s.deps;
    sched = new Scheduler(store, cache, new EventRecorder(store, "kumo-scheduler", log), log, metrics.registry, {
      policy: values.policy as SchedulePolicy,
      workers: WORKERS,
    });
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    await sched.start();
    await until("backlog placed", async () => sched!.placedTotal >= n, 600_000);
    const backlogSecs = (performance.now() - t0) / 1000;
    // CPU per placement (the whole process: API, store, every loop): comparable on a machine busy with other work.
    const cpu = process.cpuUsage(cpu0);
    const cpuPerPlacementMs = (cpu.user + cpu.system) / 1000 / n;
    const lat = sched.latencyMs(true);
    await new Promise((r) => setTimeout(r, 1000)); // let the Scheduled events still being written land before the floor
    const floor = await storeFloor(s, n);

    // 2. Live: created through the API while the scheduler runs.
    const t1 = performance.now();
    await createInstances(s, "live", live);
    await until("live placed", async () => sched!.placedTotal >= n + live, 600_000);
    const liveSecs = (performance.now() - t1) / 1000;

    // 3. One at a time: the latency of a decision that does not queue behind others.
    sched.latencyMs(true);
    for (let i = 0; i < 200; i++) {
      const before = sched.placedTotal;
      await createInstances(s, `single-${i}`, 1);
      while (sched.placedTotal === before) await new Promise((r) => setTimeout(r, 1));
    }
    const single = sched.latencyMs(true);

    const all = (await store.list(InstanceKind, "default")).items;
    const bound = all.filter((i) => i.status?.host).length;
    const usedHosts = new Set(all.map((i) => i.status?.host).filter(Boolean)).size;
    const rate = n / backlogSecs;
    console.log(`\nscheduler, ${hosts} hosts, policy ${values.policy}, ${WORKERS} commit workers, ${values.datastore}`);
    console.log(`  backlog  ${n} placements in ${backlogSecs.toFixed(2)} s = ${rate.toFixed(0)} placements/s (target >= 500)`);
    console.log(`  cpu      ${cpuPerPlacementMs.toFixed(2)} ms of process CPU per backlog placement`);
    console.log(
      `  decision latency (dequeue -> bind stored): p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms ` +
        `over the last ${lat.samples}`,
    );
    console.log(
      `  baseline store floor: ${floor.toFixed(0)} read-modify-write pairs/s -> ` +
        `scheduler at ${((rate / floor) * 100).toFixed(0)}% of the store's commit rate`,
    );
    console.log(
      `  live     ${live} created through the API and placed in ${liveSecs.toFixed(2)} s = ` +
        `${(live / liveSecs).toFixed(0)} instances/s end to end`,
    );
    console.log(
      `  single   200 created one at a time: decision latency p50 ${single.p50.toFixed(2)} ms, ` +
        `p99 ${single.p99.toFixed(2)} ms (no queueing)`,
    );
    console.log(`  bound ${bound}/${all.length} instances on ${usedHosts} hosts; decisions: ${JSON.stringify(sched.results)}`);
  } finally {
    await sched?.stop();
    await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

// `node --test <this directory>` also loads this file: it is not a test, so it does nothing there.
if (!process.env.NODE_TEST_CONTEXT) await main();
