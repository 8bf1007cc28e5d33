import { test } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { ConditionSchema, Strict, StringMap, ts } from "./common.js";

test("Strict objects refuse unknown fields and keep the description", () => {
  const s = Strict({ a: Type.String() }, { description: "d" });
  assert.equal(Value.Check(s, { a: "x" }), true);
  assert.equal(Value.Check(s, { a: "x", b: 1 }), false);
  assert.deepEqual([s.additionalProperties, s.description], [false, "d"]);
});

test("a condition has a type and a True/False/Unknown status; string maps hold strings only", () => {
  assert.equal(Value.Check(ConditionSchema, { type: "Ready", status: "Unknown", observedGeneration: 2 }), true);
  assert.equal(Value.Check(ConditionSchema, { type: "", status: "True" }), false);
  assert.equal(Value.Check(ConditionSchema, { type: "Ready", status: "true" }), false);
  assert.equal(Value.Check(StringMap, { a: "b" }), true);
  assert.equal(Value.Check(StringMap, { a: 1 }), false);
});

test("ts passes strings through and drops anything else", () => {
  assert.equal(ts("2024-01-01T00:00:00Z"), "2024-01-01T00:00:00Z");
  assert.equal(ts(5), undefined);
  assert.equal(ts(undefined), undefined);
});
