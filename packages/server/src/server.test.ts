/** runServer as a whole: every loop is measured and shown; a start that fails part-way leaves nothing behind. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readlink, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServer } from "./server.js";
import { startTestServer } from "./testing.js";

const LOOPS = ["namespace", "gc", "ipam-releaser", "image-gc", "host-lifecycle", "instance", "scheduler", "compaction"];

it("measures every control loop in /metrics and shows it in /debug/state", async () => {
  const s = await startTestServer();
  try {
    const metrics = (await s.call("GET", "/metrics")).text;
    const state = (await s.call("GET", "/debug/state")).body;
    for (const loop of LOOPS) {
      for (const result of ["success", "requeue", "error", "terminal"]) {
        const series = new RegExp(`kumo_controller_reconcile_total\\{controller="${loop}",result="${result}"\\} \\d+`);
        assert.match(metrics, series, `${loop} ${result}`);
      }
      assert.match(metrics, new RegExp(`kumo_controller_queue_depth\\{controller="${loop}"\\} \\d+`), `${loop} queue depth`);
      assert.match(metrics, new RegExp(`kumo_controller_queue_oldest_item_age_seconds\\{controller="${loop}"\\} `), `${loop} age`);
      assert.equal(typeof state[loop]?.reconciles?.success, "number", `/debug/state.${loop}: ${JSON.stringify(state[loop])}`);
      assert.equal(typeof state[loop].queue?.depth, "number");
    }
    for (const part of ["store", "watchCache", "iam", "audit", "listener"]) assert.ok(part in state, `/debug/state has ${part}`);
    assert.ok(
      state.components.every((c: { state: string }) => c.state === "running"),
      JSON.stringify(state.components),
    );
    assert.equal(state.scheduler.name, "kumo-scheduler");
    assert.ok(Array.isArray(state.scheduler.pending) && Array.isArray(state.scheduler.allocationRepairsAtStart));
    // The loops did work at start (the informers queued what exists): reconciles were counted.
    assert.ok(state.gc.reconciles.success >= 1, "the gc swept at start");
  } finally {
    await s.stop();
  }
});

/** Open file descriptors of this process that point into `dir`. */
async function fdsUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir("/proc/self/fd")) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => "");
    if (target.startsWith(dir)) out.push(target);
  }
  return out;
}

/** What keeps the event loop alive, as a sorted list (timers, sockets, servers, file requests). */
const resources = () =>
  process
    .getActiveResourcesInfo()
    .filter((r) => r !== "TTYWrap")
    .sort();

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

it("a start that fails at the second listener (port in use) leaves no listener, watch, timer or open file behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kumo-startfail-"));
  const taken: Server = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const takenPort = (taken.address() as { port: number }).port;
  try {
    const firstPort = await freePort();
    await new Promise((r) => setTimeout(r, 50));
    const before = resources();
    const datastore = `sqlite://${join(dir, "kumo.db")}`;
    await assert.rejects(
      runServer({ dataDir: dir, datastore, listen: `127.0.0.1:${firstPort}`, extraListen: [`127.0.0.1:${takenPort}`] }),
      new RegExp(`cannot listen on 127.0.0.1:${takenPort}: .*EADDRINUSE`),
    );
    assert.ok(existsSync(join(dir, "kumo.db")), "the store was opened (the failure came after it)");
    assert.ok(existsSync(join(dir, "audit.log")), "the audit log was opened (the failure came after it)");
    assert.deepEqual(await fdsUnder(dir), [], "no open database, WAL or audit log file");
    assert.equal(existsSync(join(dir, "kumo.db-wal")), false, "sqlite removed its WAL: the last connection closed");
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(resources(), before, "no timer, watch or socket left running");
    // The first listener, which did bind, let its port go.
    const again = createServer();
    await new Promise<void>((res, rej) => again.once("error", rej).listen(firstPort, "127.0.0.1", () => res()));
    await new Promise<void>((r) => again.close(() => r()));
  } finally {
    await new Promise<void>((r) => taken.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  }
});
