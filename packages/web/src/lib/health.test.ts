import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "@kumo/api";
import { summarize } from "./health.js";

const o = (status: unknown): KObject => ({ apiVersion: "v1", kind: "X", metadata: { name: "x" }, status });

test("phases and Ready conditions fall into ok / progressing / bad; objects without status are not rated", () => {
  const h = summarize([
    o({ phase: "Running" }),
    o({ phase: "Pending" }),
    o({ phase: "Failed" }),
    o({ conditions: [{ type: "Ready", status: "True" }] }),
    o({ conditions: [{ type: "Ready", status: "False" }] }),
    o(undefined),
    o({ conditions: [{ type: "Other", status: "True" }] }),
  ]);
  assert.deepEqual(h, { ok: 2, progressing: 1, bad: 2, rated: 5 });
});
