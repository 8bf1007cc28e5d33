import assert from "node:assert/strict";
import { test } from "node:test";
import { runBackendConformance } from "../conformance.js";
import { collect } from "../conformance-util.js";
import { WatchOverflowError } from "../watch-hub.js";
import { MemoryBackend } from "./memory-backend.js";

runBackendConformance({
  name: "memory",
  newBackend: async () => {
    const backend = new MemoryBackend();
    return { backend, cleanup: () => backend.close() };
  },
});

test("memory: a watcher that falls behind its buffer bound ends with WatchOverflowError", async (t) => {
  const b = new MemoryBackend({ watchBufferLimit: 10 });
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
  const b = new MemoryBackend();
  const ctl = new AbortController();
  const pending = collect(b.watch("/", { afterRevision: 0, signal: ctl.signal }), ctl, 1);
  await new Promise((r) => setTimeout(r, 10));
  await b.close();
  await assert.rejects(pending, /closed/);
});

test("memory: observer sees every op with its latency and outcome", async () => {
  const seen: string[] = [];
  const b = new MemoryBackend({ observer: { observe: (op, s, ok) => seen.push(`${op}:${ok}:${s >= 0}`) } });
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
