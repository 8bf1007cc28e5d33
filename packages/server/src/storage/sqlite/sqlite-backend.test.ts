import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runBackendConformance } from "../conformance.js";
import { collect } from "../conformance-util.js";
import { WatchOverflowError } from "../watch-hub.js";
import { SqliteBackend } from "./sqlite-backend.js";

const dir = mkdtempSync(join(tmpdir(), "kumo-sqlite-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `db-${++n}.db`);

runBackendConformance({
  name: "sqlite",
  newBackend: async () => {
    const backend = new SqliteBackend(freshPath());
    return { backend, cleanup: () => backend.close() };
  },
});

test("sqlite: data, revision and compact revision survive close/reopen", async (t) => {
  const path = freshPath();
  const b1 = new SqliteBackend(path);
  const a = await b1.create("/keep/a", "1");
  await b1.update("/keep/a", "2", a.revision);
  await b1.create("/keep/b", "x");
  const gone = await b1.create("/keep/c", "y");
  await b1.delete("/keep/c", gone.revision);
  await b1.compact(a.revision);
  const before = await b1.stats();
  await b1.close();

  const b2 = new SqliteBackend(path);
  t.after(() => b2.close());
  const after = await b2.stats();
  assert.deepEqual(after, { ...before, dbSizeBytes: after.dbSizeBytes });
  assert.equal(after.revision, 5);
  assert.deepEqual(
    (await b2.list("/keep/")).kvs.map((kv) => [kv.key, kv.value]),
    [
      ["/keep/a", "2"],
      ["/keep/b", "x"],
    ],
  );
  assert.equal((await b2.create("/keep/d", "z")).revision, 6, "the revision continues after a restart");
  // History after the compact revision is still there after the restart.
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const { events } = await collect(b2.watch("/keep/", { afterRevision: a.revision, signal: ctl.signal }), ctl, 5);
  assert.deepEqual(
    events.map((e) => [e.type, e.kv.key, e.kv.modRevision]),
    [
      ["PUT", "/keep/a", 2],
      ["PUT", "/keep/b", 3],
      ["PUT", "/keep/c", 4],
      ["DELETE", "/keep/c", 5],
      ["PUT", "/keep/d", 6],
    ],
  );
});

test("sqlite: the revision survives when compaction emptied the log", async (t) => {
  const path = freshPath();
  const b1 = new SqliteBackend(path);
  await b1.create("/k", "1");
  const d = await b1.delete("/k");
  await b1.compact(d.revision);
  await b1.close();
  const b2 = new SqliteBackend(path);
  t.after(() => b2.close());
  assert.equal(await b2.currentRevision(), d.revision);
  assert.equal((await b2.create("/k", "2")).revision, d.revision + 1);
});

test("sqlite: a second backend on the same file is refused while the first is open", async (t) => {
  const path = freshPath();
  const b1 = new SqliteBackend(path);
  t.after(() => b1.close());
  await b1.create("/k", "1");
  assert.throws(() => new SqliteBackend(path, { busyTimeoutMs: 50 }), /locked|busy/i);
});

test("sqlite: concurrent writes are group-committed, and the observer sees ops and commits", async (t) => {
  const ops = new Map<string, number>();
  const observer = { observe: (op: string) => void ops.set(op, (ops.get(op) ?? 0) + 1) };
  const b = new SqliteBackend(freshPath(), { observer });
  t.after(() => b.close());
  const results = await Promise.all(Array.from({ length: 64 }, (_, i) => b.create(`/gc/${i}`, "x")));
  assert.ok(results.every((r) => r.ok));
  assert.equal(ops.get("create"), 64);
  const commits = ops.get("commit") ?? 0;
  assert.ok(commits >= 1 && commits < 8, `64 concurrent creates took ${commits} commits`);
  await b.get("/gc/1");
  await b.list("/gc/");
  assert.deepEqual([ops.get("get"), ops.get("list")], [1, 1]);
});

test("sqlite: maxBatch bounds the group size", async (t) => {
  let commits = 0;
  const b = new SqliteBackend(freshPath(), { maxBatch: 10, observer: { observe: (op) => void (op === "commit" && commits++) } });
  t.after(() => b.close());
  await Promise.all(Array.from({ length: 35 }, (_, i) => b.create(`/mb/${i}`, "x")));
  assert.equal(commits, 4);
});

test("sqlite: one group's CAS checks see earlier writes of the same group", async (t) => {
  const b = new SqliteBackend(freshPath());
  t.after(() => b.close());
  const c = await b.create("/cas", "0");
  // All four are queued before the flush: the first update wins, the second loses to it.
  const [u1, u2, d, again] = await Promise.all([
    b.update("/cas", "1", c.revision),
    b.update("/cas", "2", c.revision),
    b.delete("/cas", c.revision + 1),
    b.create("/cas", "new"),
  ]);
  assert.deepEqual([u1.ok, u2.ok, d.ok, again.ok], [true, false, true, true]);
  assert.equal(u2.kv?.value, "1");
  assert.equal(again.revision, c.revision + 3);
});

test("sqlite: a slow watcher overflows without blocking writers", async (t) => {
  const b = new SqliteBackend(freshPath(), { watchBufferLimit: 50 });
  t.after(() => b.close());
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const iter = b.watch("/", { afterRevision: 0, signal: ctl.signal })[Symbol.asyncIterator]();
  const first = iter.next();
  await b.create("/s/0", "x");
  await first;
  await Promise.all(Array.from({ length: 100 }, (_, i) => b.create(`/s/${i + 1}`, "x")));
  await assert.rejects(iter.next(), WatchOverflowError);
});

test("sqlite: compaction removes log rows but not values, and stats count the WAL", async (t) => {
  const b = new SqliteBackend(freshPath());
  t.after(() => b.close());
  for (let i = 0; i < 50; i++) await b.create(`/c/${i}`, "v".repeat(1000));
  const s = await b.stats();
  assert.ok(s.dbSizeBytes > 50_000, `db size ${s.dbSizeBytes}`);
  await b.compact(s.revision);
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  await assert.rejects(collect(b.watch("/c/", { afterRevision: 0, signal: ctl.signal }), ctl, 1), /compacted/);
  assert.equal((await b.list("/c/")).kvs.length, 50);
});

test("sqlite: a failed group commit rejects every write in it and changes nothing", async (t) => {
  const b = new SqliteBackend(freshPath());
  t.after(() => b.close());
  await b.create("/full/seed", "x");
  const ctl = new AbortController();
  t.after(() => ctl.abort());
  const seen = collect(b.watch("/full/", { afterRevision: await b.currentRevision(), signal: ctl.signal }), ctl, 1);
  // Simulate a full disk: the database may not grow past its current size.
  const db = (b as unknown as { db: { pragma(s: string, o?: object): unknown } }).db;
  const pages = Number(db.pragma("page_count", { simple: true }));
  db.pragma(`max_page_count = ${pages}`);
  const big = "y".repeat(64 * 1024);
  const writes = [b.create("/full/a", big), b.create("/full/b", big), b.update("/full/seed", big, 1)];
  for (const w of writes) await assert.rejects(w, /full/i);
  assert.deepEqual([await b.currentRevision(), (await b.stats()).keys], [1, 1]);
  assert.equal(await b.get("/full/a"), undefined);
  db.pragma("max_page_count = 1000000");
  const ok = await b.create("/full/a", "small");
  assert.equal(ok.revision, 2, "no revision was burnt by the failed group");
  assert.deepEqual(
    (await seen).events.map((e) => e.kv.modRevision),
    [2],
    "watchers never saw the failed writes",
  );
});
