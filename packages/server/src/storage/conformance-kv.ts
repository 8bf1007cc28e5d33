/** Conformance tests for reads, conditional writes, revisions, compaction and stats. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Backend } from "./backend.js";
import { open, range, type BackendFactory } from "./conformance-util.js";

/** Register the key/value part of the conformance suite (inside the caller's describe). */
export function kvConformance(factory: BackendFactory): void {
  test("create returns the new kv; get reads it back; missing keys are undefined", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const res = await b.create("/k/one", "v1");
    assert.deepEqual(res, { ok: true, revision: r0 + 1, kv: kv("/k/one", "v1", r0 + 1, r0 + 1) });
    assert.deepEqual(await b.get("/k/one"), kv("/k/one", "v1", r0 + 1, r0 + 1));
    assert.equal(await b.get("/k/two"), undefined);
    assert.equal(await b.get("/k/on"), undefined, "get is exact, not a prefix match");
  });

  test("an attached key commits with a successful write, named by its revision, and never with a refused one", async (t) => {
    const b = await open(t, factory);
    const attach = (rev: number) => ({ key: `/h/${rev}`, value: `entry-${rev}` });
    const c = await b.create("/obj", "v1", { attach });
    assert.equal((await b.get(`/h/${c.revision}`))?.value, `entry-${c.revision}`);
    const u = await b.update("/obj", "v2", c.revision, { attach });
    assert.equal((await b.get(`/h/${u.revision}`))?.value, `entry-${u.revision}`);
    const stale = await b.update("/obj", "v3", c.revision, { attach });
    assert.equal(stale.ok, false);
    const d = await b.delete("/obj", u.revision, { attach });
    assert.equal((await b.get(`/h/${d.revision}`))?.value, `entry-${d.revision}`);
    assert.deepEqual(
      (await b.list("/h/")).kvs.map((kv) => kv.value),
      [c, u, d].map((r) => `entry-${r.revision}`),
      "exactly one entry per successful write",
    );
  });

  test("create of an existing key is refused with the current kv and does not bump the revision", async (t) => {
    const b = await open(t, factory);
    const first = await b.create("/k", "a");
    const again = await b.create("/k", "b");
    assert.deepEqual(again, { ok: false, revision: first.revision, kv: first.kv });
    assert.equal((await b.get("/k"))?.value, "a");
  });

  test("list is ordered by key (code point order) and prefix '/a/' does not match '/ab/'", async (t) => {
    const b = await open(t, factory);
    // Astral chars sort after U+FFFF by code point (and UTF-8 bytes) but before it in UTF-16 units.
    const keys = ["/a/2", "/ab/x", "/a/1", "/a", "/a0", "/b/1", "/a/\uffff", "/a/\u{1f600}", "/a/10", "/a/"];
    for (const k of keys) assert.ok((await b.create(k, `v${k}`)).ok);
    const all = await b.list("");
    assert.deepEqual(
      all.kvs.map((x) => x.key),
      ["/a", "/a/", "/a/1", "/a/10", "/a/2", "/a/\uffff", "/a/\u{1f600}", "/a0", "/ab/x", "/b/1"],
    );
    const a = await b.list("/a/");
    assert.deepEqual(
      a.kvs.map((x) => x.key),
      ["/a/", "/a/1", "/a/10", "/a/2", "/a/\uffff", "/a/\u{1f600}"],
    );
    assert.equal(a.more, false);
    assert.equal(a.kvs[1].value, "v/a/1");
    assert.deepEqual(
      (await b.list("/ab/")).kvs.map((x) => x.key),
      ["/ab/x"],
    );
    assert.deepEqual((await b.list("/c/")).kvs, []);
  });

  test("list paginates with startKey = last key + '\\0' and limit, reporting more", async (t) => {
    const b = await open(t, factory);
    for (const k of ["/p/e", "/p/a", "/p/c", "/p/b", "/p/d", "/q/a"]) await b.create(k, k);
    const rev = await b.currentRevision();
    const p1 = await b.list("/p/", { limit: 2 });
    assert.deepEqual([p1.kvs.map((x) => x.key), p1.more, p1.revision], [["/p/a", "/p/b"], true, rev]);
    const p2 = await b.list("/p/", { limit: 2, startKey: "/p/b\0" });
    assert.deepEqual([p2.kvs.map((x) => x.key), p2.more], [["/p/c", "/p/d"], true]);
    const p3 = await b.list("/p/", { limit: 2, startKey: "/p/d\0" });
    assert.deepEqual([p3.kvs.map((x) => x.key), p3.more], [["/p/e"], false]);
    const exact = await b.list("/p/", { limit: 5 });
    assert.deepEqual([exact.kvs.length, exact.more], [5, false], "a page that ends exactly at the last key has no more");
    const unlimited = await b.list("/p/", { limit: 0, startKey: "/p/c" });
    assert.deepEqual(
      unlimited.kvs.map((x) => x.key),
      ["/p/c", "/p/d", "/p/e"],
      "startKey is inclusive",
    );
    assert.deepEqual((await b.list("/p/", { startKey: "/a" })).kvs.length, 5, "startKey below the prefix is ignored");
    assert.deepEqual((await b.list("/p/", { startKey: "/q/" })).kvs, [], "startKey past the prefix yields nothing");
  });

  test("update is a CAS on modRevision and keeps createRevision", async (t) => {
    const b = await open(t, factory);
    const c = await b.create("/u", "1");
    const u1 = await b.update("/u", "2", c.revision);
    assert.deepEqual(u1, { ok: true, revision: c.revision + 1, kv: kv("/u", "2", c.revision, c.revision + 1) });
    const stale = await b.update("/u", "3", c.revision);
    assert.deepEqual(stale, { ok: false, revision: u1.revision, kv: u1.kv }, "losing the race returns the current kv");
    const u2 = await b.update("/u", "3", u1.revision);
    assert.deepEqual(u2.kv, kv("/u", "3", c.revision, u1.revision + 1));
    assert.deepEqual(await b.get("/u"), u2.kv);
    const missing = await b.update("/nope", "x", 1);
    assert.deepEqual(missing, { ok: false, revision: u2.revision, kv: undefined });
  });

  test("delete with a revision is a CAS; without one it is unconditional", async (t) => {
    const b = await open(t, factory);
    const c = await b.create("/d", "v");
    const u = await b.update("/d", "w", c.revision);
    const stale = await b.delete("/d", c.revision);
    assert.deepEqual(stale, { ok: false, revision: u.revision, kv: u.kv });
    const del = await b.delete("/d", u.revision);
    // The deleted value, stamped with the delete's revision, exactly like the DELETE watch event.
    assert.deepEqual(del, { ok: true, revision: u.revision + 1, kv: kv("/d", "w", c.revision, u.revision + 1) });
    assert.equal(await b.get("/d"), undefined);
    assert.deepEqual(await b.delete("/d"), { ok: false, revision: del.revision, kv: undefined });
    assert.deepEqual(await b.delete("/d", del.revision), { ok: false, revision: del.revision, kv: undefined });
    const again = await b.create("/d", "new");
    assert.equal(again.kv?.createRevision, del.revision + 1, "a re-created key gets a new createRevision");
    const plain = await b.delete("/d");
    assert.equal(plain.ok, true);
    assert.deepEqual((await b.list("/d")).kvs, []);
  });

  test("each successful write bumps the revision by exactly one; refused writes do not", async (t) => {
    const b = await open(t, factory);
    let rev = await b.currentRevision();
    const step = async (p: Promise<{ ok: boolean; revision: number }>, ok: boolean): Promise<void> => {
      const r = await p;
      assert.equal(r.ok, ok);
      if (ok) rev++;
      assert.equal(r.revision, rev);
      assert.equal(await b.currentRevision(), rev);
    };
    await step(b.create("/r/a", "1"), true);
    await step(b.create("/r/b", "1"), true);
    await step(b.create("/r/a", "x"), false);
    await step(b.update("/r/a", "2", rev - 1), true);
    await step(b.update("/r/a", "3", 1_000_000), false);
    await step(b.delete("/r/b"), true);
    await step(b.delete("/r/b"), false);
    assert.equal((await b.list("/r/")).revision, rev);
  });

  test("200 concurrent CAS increments on one key (retry loops) give exactly 200", async (t) => {
    const b = await open(t, factory);
    await b.create("/counter", "0");
    const increment = async (): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const cur = (await b.get("/counter"))!;
        const res = await b.update("/counter", String(Number(cur.value) + 1), cur.modRevision);
        if (res.ok) return attempt;
        assert.ok(res.kv && res.kv.modRevision > cur.modRevision, "a lost race reports the newer kv");
      }
    };
    await Promise.all(range(1, 200).map(increment));
    const final = (await b.get("/counter"))!;
    assert.equal(final.value, "200");
    assert.equal(final.modRevision - final.createRevision, 200);
  });

  test("concurrent creates of distinct keys all succeed with distinct revisions", async (t) => {
    const b = await open(t, factory);
    const r0 = await b.currentRevision();
    const results = await Promise.all(range(1, 300).map((i) => b.create(`/c/${String(i).padStart(3, "0")}`, `${i}`)));
    assert.ok(results.every((r) => r.ok));
    const revs = results.map((r) => r.revision).sort((x, y) => x - y);
    assert.deepEqual(revs, range(r0 + 1, r0 + 300));
    const listed = await b.list("/c/");
    assert.equal(listed.kvs.length, 300);
    for (const r of results)
      assert.deepEqual(
        listed.kvs.find((x) => x.key === r.kv!.key),
        r.kv,
      );
  });

  test("compact keeps current values, records the compact revision and refuses the future", async (t) => {
    const b = await open(t, factory);
    const c = await b.create("/x", "1");
    const u = await b.update("/x", "2", c.revision);
    await b.compact(u.revision);
    assert.deepEqual(await b.get("/x"), u.kv);
    assert.equal((await b.stats()).compactRevision, u.revision);
    await b.compact(c.revision); // older than the compact revision: a no-op, not an error
    assert.equal((await b.stats()).compactRevision, u.revision);
    await assert.rejects(b.compact(u.revision + 10), RangeError);
    assert.equal((await b.create("/y", "1")).revision, u.revision + 1, "compaction does not touch the revision");
  });

  test("stats report keys and revision", async (t) => {
    const b = await open(t, factory);
    const before = await b.stats();
    await b.create("/s/1", "x");
    const two = await b.create("/s/2", "x");
    await b.delete("/s/1");
    const s = await b.stats();
    assert.equal(s.keys, before.keys + 1);
    assert.equal(s.revision, two.revision + 1);
    assert.ok(s.dbSizeBytes >= 0);
  });

  test("bad arguments are refused with TypeError", async (t) => {
    const b = await open(t, factory);
    await assert.rejects(b.create("", "x"), TypeError);
    await assert.rejects(b.create("/k", undefined as unknown as string), TypeError);
    await assert.rejects(b.update("/k", "x", -1), TypeError);
    assert.equal((await b.stats()).keys, 0);
  });

  test("close is idempotent and later operations reject", async (t) => {
    const b: Backend = await open(t, factory);
    await b.create("/z", "1");
    await b.close();
    await b.close();
    await assert.rejects(b.get("/z"));
    await assert.rejects(b.create("/z2", "1"));
  });
}

function kv(key: string, value: string, createRevision: number, modRevision: number) {
  return { key, value, createRevision, modRevision };
}
