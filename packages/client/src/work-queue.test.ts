import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkQueue } from "./work-queue.js";

test("duplicate adds of a waiting key collapse to one", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("b");
  q.add("a");
  assert.equal(q.len(), 2);
  assert.equal(await q.get(), "a");
  assert.equal(await q.get(), "b");
  assert.equal(q.len(), 0);
});

test("a key added while processing is handed out again only after done", async () => {
  const q = new WorkQueue();
  q.add("a");
  const item = await q.get();
  q.add("a");
  assert.equal(q.len(), 0, "not queued while a worker holds it");
  q.done(item as string);
  assert.equal(q.len(), 1);
  assert.equal(await q.get(), "a");
  q.done("a");
  assert.equal(q.len(), 0);
});

test("get waits for an add; shutDown releases waiters with undefined", async () => {
  const q = new WorkQueue();
  const p = q.get();
  setTimeout(() => q.add("x"), 5);
  assert.equal(await p, "x");
  const waiting = q.get();
  q.shutDown();
  assert.equal(await waiting, undefined);
  q.add("y");
  assert.equal(q.len(), 0, "adds after shutDown are ignored");
});

test("get returns undefined when its signal aborts", async () => {
  const q = new WorkQueue();
  const ac = new AbortController();
  const p = q.get(ac.signal);
  ac.abort();
  assert.equal(await p, undefined);
  q.add("z");
  assert.equal(await q.get(), "z", "the aborted waiter did not swallow the item");
});

test("addAfter delays, and the earlier of two schedules wins", async () => {
  const q = new WorkQueue();
  q.addAfter("a", 200);
  q.addAfter("a", 20);
  assert.equal(q.stats().waiting, 1);
  const t0 = Date.now();
  assert.equal(await q.get(), "a");
  const took = Date.now() - t0;
  assert.ok(took >= 15 && took < 150, `took ${took} ms`);
  q.shutDown();
});

test("addRateLimited backs off exponentially per key until forget", () => {
  const q = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 1000 });
  assert.deepEqual(
    [1, 2, 3, 4, 8, 20].map((n) => q.backoffFor(n)),
    [10, 20, 40, 80, 1000, 1000],
  );
  q.addRateLimited("a");
  q.addRateLimited("a");
  assert.equal(q.numRequeues("a"), 2);
  assert.equal(q.numRequeues("b"), 0);
  q.forget("a");
  assert.equal(q.numRequeues("a"), 0);
  assert.equal(q.stats().retries, 2);
  q.shutDown();
});
