/** A server restart on the same sqlite data dir: leaked reservations are given back, blobs and bindings survive. */
import { after, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../../testing.js";
import { reserve } from "./host-allocation.js";
import { SCHEDULER_CTX } from "./scheduler.js";
import { P, allocatedOf, fakeHosts, getInstance, hostObject, instanceObject, readyImage, until } from "./test-support.js";

let dir: string | undefined;
let s: TestServer | undefined;
after(async () => {
  await s?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

it("repairs a reservation leaked by a crash and keeps bindings and blobs", async () => {
  dir = await mkdtemp(join(tmpdir(), "kumo-restart-"));
  const open = () => startTestServer({ dataDir: dir, datastore: `sqlite://${join(dir!, "kumo.db")}`, heartbeatGraceMs: 1500 });
  s = await open();
  await readyImage(s, "busybox", "rootfs bytes");
  const beats = await fakeHosts(s, [hostObject("r1", { cpu: 4000, memoryMiB: 4096 })]);
  await s.call("POST", P.instances(), { body: instanceObject("survivor") });
  await until("bound", async () => (await getInstance(s!, "survivor"))?.status?.host === "r1");
  await reserve(s.deps.store, "r1", { cpu: 1000, memoryMiB: 1000, instances: 1 }, SCHEDULER_CTX); // reserved, then the "crash" before bind
  assert.deepEqual(await allocatedOf(s, "r1"), { cpu: 1250, memoryMiB: 1064, instances: 2 });
  beats.stop();
  await s.stop();
  await writeFile(join(dir, "blobs", "tmp", "half-written-upload"), "partial"); // an upload the crash interrupted

  s = await open();
  assert.deepEqual(await allocatedOf(s, "r1"), { cpu: 250, memoryMiB: 64, instances: 1 }, "only the bound instance holds capacity");
  const repairs = (await s.call("GET", "/debug/state")).body.scheduler.allocationRepairsAtStart;
  assert.deepEqual(
    repairs.map((r: { host: string }) => r.host),
    ["r1"],
  );
  assert.equal((await getInstance(s, "survivor")).status.host, "r1");
  const blob = await s.call("GET", `${P.images}/busybox/blobs/rootfs`);
  assert.equal(blob.status, 200);
  assert.equal(blob.text, "rootfs bytes");
  assert.deepEqual(await readdir(join(dir, "blobs", "tmp")), [], "the interrupted upload's temp file is gone");
});
