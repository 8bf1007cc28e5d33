import { test } from "node:test";
import assert from "node:assert/strict";
import type { Condition } from "@kumo/api";
import { orderConditions, timelineOf } from "./conditions.js";

const STEPS = ["Scheduled", "ImageReady", "PortBound", "Running"];
const c = (type: string, status: Condition["status"], t?: string): Condition => ({ type, status, lastTransitionTime: t });

test("True conditions by transition time, then the others (and unreported steps) in step order", () => {
  const ordered = orderConditions(
    [
      c("Running", "False", "2026-01-01T00:00:09Z"),
      c("PortBound", "True", "2026-01-01T00:00:01Z"),
      c("Scheduled", "False", "2026-01-01T00:00:02Z"),
      c("Custom", "True", "2026-01-01T00:00:00Z"),
    ],
    STEPS,
  );
  assert.deepEqual(
    ordered.map((x) => x.type),
    ["Custom", "PortBound", "Scheduled", "Running"],
  );
  const full = timelineOf(ordered, STEPS);
  assert.deepEqual(
    full.map((x) => `${x.type}:${x.status}`),
    ["Custom:True", "PortBound:True", "Scheduled:False", "ImageReady:Unknown", "Running:False"],
  );
  assert.equal(full[3].reason, "NotReached");
  assert.deepEqual(timelineOf([], []), []);
});
