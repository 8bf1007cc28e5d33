import { test } from "node:test";
import assert from "node:assert/strict";
import type { KList, KObject } from "@kumo/api";
import { applyWatchEvent, compareRv, emptyList, fromList } from "./watch-reducer.js";

function net(name: string, rv: string, vni = 1, namespace = "default"): KObject {
  return { apiVersion: "network.kumo.dev/v1", kind: "Network", metadata: { name, namespace, resourceVersion: rv }, spec: { vni } };
}
function list(rv: string, ...items: KObject[]): KList {
  return { apiVersion: "network.kumo.dev/v1", kind: "NetworkList", metadata: { resourceVersion: rv }, items };
}
const names = (s: { items: KObject[] }) => s.items.map((o) => o.metadata.name);

test("fromList sorts by namespace/name and keeps the snapshot's resourceVersion", () => {
  const s = fromList(list("10", net("b", "4"), net("a", "9"), net("c", "2", 1, "alpha")));
  assert.deepEqual(names(s), ["c", "a", "b"]);
  assert.equal(s.resourceVersion, "10");
  assert.equal(s.expired, false);
});

test("ADDED inserts in order and advances the resourceVersion", () => {
  const s0 = fromList(list("10", net("a", "3"), net("c", "5")));
  const s1 = applyWatchEvent(s0, { type: "ADDED", object: net("b", "11") });
  assert.deepEqual(names(s1), ["a", "b", "c"]);
  assert.equal(s1.resourceVersion, "11");
  assert.deepEqual(names(s0), ["a", "c"], "the input state is not mutated");
});

test("MODIFIED replaces the row in place", () => {
  const s0 = fromList(list("10", net("a", "3", 1), net("b", "4")));
  const s1 = applyWatchEvent(s0, { type: "MODIFIED", object: net("a", "12", 42) });
  assert.deepEqual(names(s1), ["a", "b"]);
  assert.equal((s1.items[0].spec as { vni: number }).vni, 42);
  assert.equal(s1.resourceVersion, "12");
});

test("a MODIFIED for an unknown object adds it (the ADDED may have been before our list)", () => {
  const s1 = applyWatchEvent(fromList(list("10")), { type: "MODIFIED", object: net("x", "11") });
  assert.deepEqual(names(s1), ["x"]);
});

test("DELETED removes the row; objects with the same name in another namespace stay", () => {
  const s0 = fromList(list("10", net("a", "3"), net("a", "4", 1, "other")));
  const s1 = applyWatchEvent(s0, { type: "DELETED", object: net("a", "13") });
  assert.deepEqual(
    s1.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
    ["other/a"],
  );
  assert.equal(s1.resourceVersion, "13");
});

test("stale events (resourceVersion not newer than the list) are dropped and return the same state", () => {
  const s0 = fromList(list("10", net("a", "8", 7)));
  for (const ev of [
    { type: "ADDED" as const, object: net("ghost", "9") }, // deleted before the snapshot: must not come back
    { type: "MODIFIED" as const, object: net("a", "10", 1) }, // already in the snapshot
    { type: "DELETED" as const, object: net("a", "5") },
  ])
    assert.equal(applyWatchEvent(s0, ev), s0, `${ev.type} ${ev.object.metadata.name}@${ev.object.metadata.resourceVersion}`);
  const s1 = applyWatchEvent(s0, { type: "MODIFIED", object: net("a", "20", 9) });
  assert.equal(applyWatchEvent(s1, { type: "MODIFIED", object: net("a", "15", 1) }), s1, "an older update after a newer one is dropped");
  assert.equal((s1.items[0].spec as { vni: number }).vni, 9);
});

test("resourceVersions compare as numbers, not strings", () => {
  assert.equal(compareRv("9", "10"), -1);
  assert.equal(compareRv("100", "99"), 1);
  assert.equal(compareRv("7", "7"), 0);
  const s0 = fromList(list("9"));
  assert.deepEqual(names(applyWatchEvent(s0, { type: "ADDED", object: net("a", "10") })), ["a"]);
});

test("BOOKMARK only advances the resourceVersion", () => {
  const s0 = fromList(list("10", net("a", "3")));
  const s1 = applyWatchEvent(s0, { type: "BOOKMARK", object: { apiVersion: "v1", kind: "Network", metadata: { resourceVersion: "50" } } });
  assert.equal(s1.resourceVersion, "50");
  assert.equal(s1.items, s0.items);
  assert.equal(applyWatchEvent(s1, { type: "ADDED", object: net("b", "40") }), s1, "events before the bookmark are stale");
});

test("410 Gone marks the list expired; events are ignored until the relist replaces everything", () => {
  const s0 = fromList(list("10", net("a", "3"), net("b", "4")));
  const gone = applyWatchEvent(s0, {
    type: "ERROR",
    object: { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" },
  });
  assert.equal(gone.expired, true);
  assert.deepEqual(names(gone), ["a", "b"], "rows stay visible while relisting");
  assert.equal(applyWatchEvent(gone, { type: "ADDED", object: net("c", "30") }), gone);
  const other = applyWatchEvent(s0, { type: "ERROR", object: { kind: "Status", code: 500, message: "boom" } });
  assert.equal(other, s0, "a non-410 ERROR does not expire the list");
  // The relist: b was deleted and c created while we were not watching.
  const relisted = fromList(list("40", net("a", "3"), net("c", "30")));
  assert.equal(relisted.expired, false);
  assert.deepEqual(names(relisted), ["a", "c"]);
  assert.equal(applyWatchEvent(relisted, { type: "DELETED", object: net("b", "35") }), relisted, "pre-relist events stay dropped");
  assert.deepEqual(names(applyWatchEvent(relisted, { type: "ADDED", object: net("d", "41") })), ["a", "c", "d"]);
});

test("emptyList accepts the first events before any list", () => {
  const s = applyWatchEvent(emptyList(), { type: "ADDED", object: net("a", "1") });
  assert.deepEqual(names(s), ["a"]);
});
