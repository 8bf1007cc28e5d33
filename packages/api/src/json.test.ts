import { test } from "node:test";
import assert from "node:assert/strict";
import { createMergePatch } from "./json.js";

test("the patch holds only changes: new and changed values, null for removed keys, whole arrays", () => {
  const from = { metadata: { name: "h1", labels: { a: "1", b: "2" } }, spec: { cpu: 1, tags: ["x", "y"], nested: { k: 1 } } };
  const to = { metadata: { name: "h1", labels: { a: "1", c: "3" } }, spec: { cpu: 2, tags: ["x"], nested: { k: 1 } } };
  assert.deepEqual(createMergePatch(from, to), { metadata: { labels: { b: null, c: "3" } }, spec: { cpu: 2, tags: ["x"] } });
});

test("no change gives {} (key order does not count as a change)", () => {
  assert.deepEqual(createMergePatch({ a: { x: 1, y: [1, { z: 2 }] } }, { a: { y: [1, { z: 2 }], x: 1 } }), {});
});

test("type changes replace the value; removing a whole map sends null", () => {
  assert.deepEqual(createMergePatch({ a: { x: 1 }, b: 1 }, { a: "flat" }), { a: "flat", b: null });
});
