import { test } from "node:test";
import assert from "node:assert/strict";
import { apiVersionOf, findCondition, parseApiVersion, setCondition, type Condition } from "./meta.js";

test('apiVersionOf and parseApiVersion agree, with the core group as ""', () => {
  assert.equal(apiVersionOf("", "v1"), "v1");
  assert.equal(apiVersionOf("infra.kumo.dev", "v1"), "infra.kumo.dev/v1");
  assert.deepEqual(parseApiVersion("v1"), { group: "", version: "v1" });
  assert.deepEqual(parseApiVersion("infra.kumo.dev/v1"), { group: "infra.kumo.dev", version: "v1" });
});

test("findCondition finds by type and tolerates a missing list", () => {
  const list: Condition[] = [
    { type: "Ready", status: "True" },
    { type: "Scheduled", status: "False" },
  ];
  assert.equal(findCondition(list, "Scheduled")?.status, "False");
  assert.equal(findCondition(list, "Running"), undefined);
  assert.equal(findCondition(undefined, "Ready"), undefined);
});

test("setCondition appends a new condition stamped with now", () => {
  const out = setCondition(undefined, { type: "Ready", status: "True", reason: "Up" }, "2024-01-01T00:00:00Z");
  assert.deepEqual(out, [{ type: "Ready", status: "True", reason: "Up", lastTransitionTime: "2024-01-01T00:00:00Z" }]);
});

test("setCondition keeps the transition time while the status holds, and moves it when the status changes", () => {
  const t0 = "2024-01-01T00:00:00Z";
  const list = setCondition([{ type: "Other", status: "True" }], { type: "Ready", status: "False", reason: "Boot" }, t0);
  const same = setCondition(list, { type: "Ready", status: "False", reason: "StillBooting", message: "m" }, "2024-01-01T00:05:00Z");
  assert.deepEqual(same[1], { type: "Ready", status: "False", reason: "StillBooting", message: "m", lastTransitionTime: t0 });
  const flipped = setCondition(same, { type: "Ready", status: "True" }, "2024-01-01T00:10:00Z");
  assert.deepEqual(flipped[1], { type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:10:00Z" });
  assert.equal(flipped.length, 2);
  assert.equal(list[1].reason, "Boot", "the input list is not modified");
});
