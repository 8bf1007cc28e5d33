// The timeline orders steps as they happened with the time between them, then the steps not done yet.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Condition } from "../meta.js";
import { INSTANCE_STEPS, type Instance } from "./compute.js";
import { stepTimeline } from "./instance-timeline.js";

const T0 = "2026-11-24T10:00:00.000Z";
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

function inst(status: Instance["status"] = { host: "h1" }): Instance {
  return {
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: { name: "web", namespace: "default", uid: "u-1", creationTimestamp: T0, resourceVersion: "5" },
    spec: { kind: "container", image: "busybox", networks: [{ network: "net1" }] },
    status,
  };
}

describe("stepTimeline", () => {
  it("orders done steps by time with durations, then the pending ones in flow order", () => {
    const conds: Condition[] = [
      { type: "Scheduled", status: "True", lastTransitionTime: at(5) },
      { type: "ImageReady", status: "True", lastTransitionTime: at(20) },
      { type: "PortBound", status: "True", lastTransitionTime: at(30) },
      { type: "NetworkReady", status: "True", lastTransitionTime: at(40) },
      { type: "AddressAssigned", status: "True", lastTransitionTime: at(140) },
      { type: "Started", status: "True", lastTransitionTime: at(175) },
      { type: "Running", status: "False", reason: "Exited", lastTransitionTime: at(180) },
    ];
    const t = stepTimeline(inst({ conditions: conds }));
    const inOrder = ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "AddressAssigned", "Started", "Running"];
    assert.deepEqual(
      t.map((s) => s.step),
      inOrder,
    );
    assert.deepEqual(
      t.map((s) => s.sincePreviousMs),
      [5, 15, 10, 10, 100, 35, undefined],
    );
    assert.equal(t[6].reason, "Exited");
    const none = stepTimeline(inst({}));
    assert.deepEqual(
      none.map((s) => [s.step, s.status]),
      INSTANCE_STEPS.map((s) => [s, "Pending"]),
    );
  });
});
