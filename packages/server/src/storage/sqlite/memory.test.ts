/** memory:// is the sqlite backend on `:memory:`: the same conformance suite, plus what memory promises on its own. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runBackendConformance } from "../conformance.js";
import { collect } from "../conformance-util.js";
import { openBackend } from "../registry.js";
import { WatchOverflowError } from "../watch-hub.js";
import { IN_MEMORY } from "./schema.js";
import { SqliteBackend } from "./sqlite-backend.js";

runBackendConformance({
  name: "memory",
  newBackend: async () => {
    const backend = await openBackend("memory://");
    return { backend, cleanup: () => backend.close() };
  },
});

test("memory: two backends never share data", async (t) => {
  const a = await openBackend("memory://");
  const b = await openBackend("memory://");
  t.after(() => Promise.all([a.close(), b.close()]));
  await a.create("/k", "a");
  assert.equal(await b.get("/k"), undefined);
  assert.equal((await b.create("/k", "b")).ok, true);
  assert.equal((await a.get("/k"))?.value, "a");
});

test("memory: each write commits at once, without waiting for a group", async (t) => {
  const b = await openBackend("memory://");
  t.after(() => b.close());
  const pending = b.create("/k", "v");
  assert.equal(await b.currentRevision(), 1);
  assert.equal((await pending).revision, 1);
});

test("memory: a watcher that falls behind its buffer bound ends with WatchOverflowError", async (t) => {
  const b = new SqliteBackend(IN_MEMORY, { watchBufferLimit: 10 });
  t.after(() => b.close());
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const iter = b.watch("/o/", { afterRevision: 0, signal: ctl.signal })[Symbol.asyncIterator]();
  const first = iter.next(); // subscribes; nobody drains while the writer runs ahead
  await b.create("/o/0", "x");
  assert.equal((await first).value?.length, 1);
  for (let i = 1; i <= 11; i++) await b.create(`/o/${i}`, "x"); // the writer is never blocked
  await assert.rejects(iter.next(), WatchOverflowError);
});

test("memory: close ends live watchers with an error", async () => {
  const b = await openBackend("memory://");
  const ctl = new AbortController();
  const pending = collect(b.watch("/", { afterRevision: 0, signal: ctl.signal }), ctl, 1);
  await new Promise((r) => setTimeout(r, 10));
  await b.close();
  await assert.rejects(pending, /closed/);
});

test("memory: observer sees every op with its latency and outcome (no durable commits to report)", async () => {
  const seen: string[] = [];
  const b = await openBackend("memory://", { observer: { observe: (op, s, ok) => seen.push(`${op}:${ok}:${s >= 0}`) } });
  await b.create("/k", "v");
  await b.get("/k");
  await b.list("/");
  await b.update("/k", "w", 999);
  await assert.rejects(b.create("", "v"));
  await b.delete("/k");
  await b.compact(1);
  await b.close();
  assert.deepEqual(seen, [
    "create:true:true",
    "get:true:true",
    "list:true:true",
    "update:true:true",
    "create:false:true",
    "delete:true:true",
    "compact:true:true",
  ]);
});
