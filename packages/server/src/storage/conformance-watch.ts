/** Conformance tests for watch: history + live, ordering, prevKv, DELETE, abort and compaction. */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { test } from "node:test";
import { CompactedError, type WatchEvent } from "./backend.js";
import { collect, open, range, revisions, sleep, type BackendFactory } from "./conformance-util.js";

/** Register the watch part of the conformance suite (inside the caller's describe). */
export function watchConformance(factory: BackendFactory): void {
  test("watch replays history after a revision, then delivers live events, with prevKv and DELETE", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const c = await b.create("/w/a", "1");
    await b.create("/other/x", "ignored");
    const u = await b.update("/w/a", "2", c.revision);
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    const watch = b.watch("/w/", { afterRevision: r0, signal: ctl.signal });
    const pending = collect(watch, ctl, 5);
    await sleep(20); // let the watch reach its live phase before writing more
    await b.create("/w/b", "x");
    const d = await b.delete("/w/a");
    await b.create("/other/y", "ignored");
    await b.create("/w/c", "y");
    const { events } = await pending;
    assert.deepEqual(events, [
      { type: "PUT", kv: c.kv },
      { type: "PUT", kv: u.kv, prevKv: c.kv },
      { type: "PUT", kv: { key: "/w/b", value: "x", createRevision: u.revision + 1, modRevision: u.revision + 1 } },
      { type: "DELETE", kv: { ...u.kv!, modRevision: d.revision }, prevKv: u.kv },
      { type: "PUT", kv: { key: "/w/c", value: "y", createRevision: d.revision + 2, modRevision: d.revision + 2 } },
    ]);
  });

  test("watch from a revision delivers only later changes; the empty prefix sees every key", async (t) => {
    const b = await open(t, factory);
    await b.create("/m/1", "a");
    const mid = await b.create("/m/2", "b");
    await b.create("/n/3", "c");
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    const { events } = await collect(b.watch("", { afterRevision: mid.revision, signal: ctl.signal }), ctl, 1);
    assert.deepEqual(
      events.map((e) => e.kv.key),
      ["/n/3"],
    );
    const ctl2 = new AbortController();
    t.after(() => ctl2.abort());
    const all = await collect(b.watch("", { afterRevision: mid.revision - 2, signal: ctl2.signal }), ctl2, 3);
    assert.deepEqual(
      all.events.map((e) => e.kv.key),
      ["/m/1", "/m/2", "/n/3"],
    );
  });

  test("watch on '/a/' does not see '/ab/' (history or live)", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    await b.create("/ab/1", "no");
    await b.create("/a/1", "yes");
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    const pending = collect(b.watch("/a/", { afterRevision: r0, signal: ctl.signal }), ctl, 2);
    await sleep(20);
    await b.create("/ab/2", "no");
    await b.create("/a0", "no");
    await b.create("/a/2", "yes");
    const { events } = await pending;
    assert.deepEqual(
      events.map((e) => e.kv.key),
      ["/a/1", "/a/2"],
    );
  });

  test("no gaps or duplicates when writes race with the watch start; batches ascend", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    let started!: () => void;
    const halfway = new Promise<void>((r) => (started = r));
    const writer = (async () => {
      for (let i = 0; i < 200; i++) {
        if (i === 100) started();
        // Pairs in flight at once so backends that batch commits produce multi-event groups.
        await Promise.all([b.create(`/g/${i}a`, "x"), b.create(`/g/${i}b`, "x")]);
      }
    })();
    await halfway;
    const got = await collect(b.watch("/g/", { afterRevision: r0, signal: ctl.signal }), ctl, 400, 10_000);
    await writer;
    assert.deepEqual(revisions(got.events), range(r0 + 1, r0 + 400));
    for (const batch of got.batches) assert.ok(batch.length > 0, "no empty batches");
  });

  test("a slow consumer replaying a long history misses nothing written meanwhile", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    for (let i = 0; i < 25; i++) await Promise.all(range(1, 100).map((j) => b.create(`/long/${i}/${j}`, "x")));
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    // The consumer pauses after every batch, so the live writes below land while history is replayed.
    const watching = collect(b.watch("/long/", { afterRevision: r0, signal: ctl.signal }), ctl, 2700, 20_000, 5);
    for (let i = 0; i < 100; i++) {
      await Promise.all([b.create(`/long/live/${i}a`, "x"), b.create(`/long/live/${i}b`, "x")]);
      await sleep(1);
    }
    assert.deepEqual(revisions((await watching).events), range(r0 + 1, r0 + 2700));
  });

  test("abort ends a waiting watch promptly and removes its abort listener", async (t) => {
    const b = await open(t, factory);
    const ctl = new AbortController();
    const iter = b.watch("/idle/", { afterRevision: await b.currentRevision(), signal: ctl.signal })[Symbol.asyncIterator]();
    const next = iter.next();
    await sleep(20);
    assert.equal(getEventListeners(ctl.signal, "abort").length, 1, "the watch listens for abort while running");
    const t0 = Date.now();
    ctl.abort();
    const timeout = sleep(1000).then(() => "timeout");
    assert.deepEqual(await Promise.race([next, timeout]), { done: true, value: undefined });
    assert.ok(Date.now() - t0 < 500);
    assert.equal(getEventListeners(ctl.signal, "abort").length, 0);
  });

  test("breaking out of the loop and pre-aborted signals leave no listeners", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    await b.create("/br/1", "x");
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    for await (const batch of b.watch("/br/", { afterRevision: r0, signal: ctl.signal })) {
      assert.equal(batch[0].kv.key, "/br/1");
      break;
    }
    assert.equal(getEventListeners(ctl.signal, "abort").length, 0);
    const dead = AbortSignal.abort();
    const seen: WatchEvent[][] = [];
    for await (const batch of b.watch("/br/", { afterRevision: r0, signal: dead })) seen.push(batch);
    assert.deepEqual(seen, []);
  });

  test("watch below the compact revision throws CompactedError; at it, history resumes", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const c = await b.create("/h/k", "1");
    const u = await b.update("/h/k", "2", c.revision);
    await b.compact(c.revision);
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    await assert.rejects(
      collect(b.watch("/h/", { afterRevision: r0, signal: ctl.signal }), ctl, 1),
      (err: unknown) => err instanceof CompactedError && err.compactRevision === c.revision && err.requested === r0,
    );
    assert.equal(getEventListeners(ctl.signal, "abort").length, 0, "a failed watch leaves no listener");
    // History right above the compact revision is intact, prevKv included (its own log entry is gone).
    const { events } = await collect(b.watch("/h/", { afterRevision: c.revision, signal: ctl.signal }), ctl, 1);
    assert.deepEqual(events, [{ type: "PUT", kv: u.kv, prevKv: c.kv }]);
  });

  test("a watch from a future revision only delivers changes after it", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const ctl = new AbortController();
    t.after(() => ctl.abort());
    const pending = collect(b.watch("/f/", { afterRevision: r0 + 2, signal: ctl.signal }), ctl, 1);
    await sleep(20);
    for (const k of ["/f/1", "/f/2", "/f/3"]) await b.create(k, "x");
    assert.deepEqual(revisions((await pending).events), [r0 + 3]);
  });
}
