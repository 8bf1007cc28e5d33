/**
 * Two schedulers racing over one store never overcommit a host: 100 instances, room for exactly 60, each host
 * limited by a different dimension. Then a leaked reservation is repaired by the startup resync.
 */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { HostKind, InstanceKind } from "@kumo/api";
import { startTestServer, type TestServer } from "../../testing.js";
import { EventRecorder } from "../../observability/events.js";
import { reserve, resyncAllocations } from "./host-allocation.js";
import { hostAllocated, hostCapacity, instanceResources } from "./resources.js";
import { Scheduler, SCHEDULER_CTX } from "./scheduler.js";
import { P, cond, fakeHosts, hostObject, instanceObject, readyImage, until } from "./test-support.js";

let s: TestServer;
let beats: Awaited<ReturnType<typeof fakeHosts>> | undefined;
const schedulers: Scheduler[] = [];

before(async () => {
  // This file tests capacity, not liveness: a grace far above the 300 ms beats, so a CI machine that stalls the
  // event loop for seconds (seen at load 19 on 2 cores) cannot turn a host NotReady mid-test.
  s = await startTestServer({ heartbeatGraceMs: 60_000, scheduler: false });
  await readyImage(s);
  // A container takes 250m cpu and 64Mi: each host has room for exactly 20, by a different dimension.
  beats = await fakeHosts(s, [
    hostObject("cpu-bound", { cpu: 20 * 250, memoryMiB: 100_000, instances: 1000 }),
    hostObject("memory-bound", { cpu: 100_000, memoryMiB: 20 * 64, instances: 1000 }),
    hostObject("slot-bound", { cpu: 100_000, memoryMiB: 100_000, instances: 20 }),
  ]);
});
after(async () => {
  for (const x of schedulers) await x.stop();
  beats?.stop();
  await s?.stop();
});

it("places exactly 60 of 100 instances with two concurrent schedulers and no host over capacity", async () => {
  const { store, cache, log, metrics } = s.deps;
  const created = await Promise.all(
    Array.from({ length: 100 }, (_, i) => s.call("POST", P.instances(), { body: instanceObject(`c-${i}`) })),
  );
  assert.ok(created.every((r) => r.status === 201));
  await until(
    "instances admitted by the instance controller",
    async () => (await store.list(InstanceKind, "default")).items.filter((i) => instanceResources(i)).length === 100,
  );
  // Both start on the same backlog, with different worker counts: in one process the first subscriber of an
  // event would otherwise win every race, and a scheduler that never wins would prove nothing.
  for (const [name, workers] of [
    ["sched-a", 3],
    ["sched-b", 8],
  ] as const) {
    schedulers.push(
      new Scheduler(store, cache, new EventRecorder(store, name, log), log, metrics.registry, {
        name,
        workers,
        retryBaseMs: 100,
        retryMaxMs: 500,
      }),
    );
  }
  await Promise.all(schedulers.map((x) => x.start()));

  const settled = async () => {
    const items = (await store.list(InstanceKind, "default")).items;
    const bound = items.filter((i) => i.status?.host);
    const refused = items.filter((i) => cond(i as never, "Scheduled")?.reason === "Unschedulable");
    return bound.length === 60 && refused.length === 40 && { items, bound };
  };
  await until("60 bound and 40 refused", settled, 20_000);
  await new Promise((r) => setTimeout(r, 1500)); // retries keep running: nothing more may fit
  const { items, bound } = (await settled()) || assert.fail("placements changed after settling");
  assert.equal(items.length, 100);

  for (const host of (await store.list(HostKind, undefined)).items) {
    const mine = bound.filter((i) => i.status!.host === host.metadata.name);
    const sum = mine.reduce(
      (a, i) => {
        const r = instanceResources(i)!;
        return { cpu: a.cpu + r.cpu, memoryMiB: a.memoryMiB + r.memoryMiB, instances: a.instances + 1 };
      },
      { cpu: 0, memoryMiB: 0, instances: 0 },
    );
    const cap = hostCapacity(host);
    assert.equal(mine.length, 20, `${host.metadata.name} holds ${mine.length}`);
    assert.ok(
      sum.cpu <= cap.cpu && sum.memoryMiB <= cap.memoryMiB && sum.instances <= cap.instances,
      `${host.metadata.name} over capacity`,
    );
    assert.deepEqual(hostAllocated(host), sum, `${host.metadata.name}: allocated equals what its instances hold (no leaked reservation)`);
  }
  assert.ok(
    schedulers.every((x) => x.placedTotal > 0),
    `both schedulers placed: ${JSON.stringify(schedulers.map((x) => x.results))}`,
  );
  assert.ok(
    schedulers.some((x) => x.results.conflict > 0),
    "they raced for the same instances",
  );
  assert.equal(
    schedulers.reduce((a, x) => a + x.placedTotal, 0),
    60,
  );
  assert.match(
    cond(
      items.find((i) => cond(i as never, "Scheduled")?.reason === "Unschedulable"),
      "Scheduled",
    ).message,
    /^0\/3 hosts: /,
  );
});

it("gives back a reservation leaked by a crash between reserve and bind when the server restarts", async () => {
  for (const x of schedulers.splice(0)) await x.stop(); // resync runs only with no scheduler in flight
  const { store, log } = s.deps;
  await s.call("PATCH", `${P.hosts}/slot-bound`, {
    body: { spec: { capacity: { instances: 21 } } },
    contentType: "application/merge-patch+json",
  });
  const before = hostAllocated(await store.get(HostKind, undefined, "slot-bound"));
  await reserve(store, "slot-bound", { cpu: 250, memoryMiB: 64, instances: 1 }, SCHEDULER_CTX); // the "crash": never bound
  assert.deepEqual(hostAllocated(await store.get(HostKind, undefined, "slot-bound")), {
    cpu: before.cpu + 250,
    memoryMiB: before.memoryMiB + 64,
    instances: 21,
  });
  const repairs = await resyncAllocations(store, SCHEDULER_CTX, log);
  assert.deepEqual(
    repairs.map((r) => r.host),
    ["slot-bound"],
  );
  assert.deepEqual(hostAllocated(await store.get(HostKind, undefined, "slot-bound")), before);
  assert.deepEqual(await resyncAllocations(store, SCHEDULER_CTX, log), [], "idempotent");
});
