// Status merging: timestamps move only on status changes, a restart re-stamps per-run steps, and
// newlyDone reports the agent steps a write turned True (the timeline itself is tested in @kumo/api).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Instance } from "@kumo/api";
import { StatusReport, applyReport, newlyDone } from "./instance-status.js";
import { instancePorts, rebootRequested, runtimeId, vmTapName } from "./instance-spec.js";
import { INSTANCE_ID_RE } from "../runtime/types.js";

const T0 = "2026-11-24T10:00:00.000Z";
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

function inst(status: Instance["status"] = { host: "h1" }): Instance {
  return {
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: {
      name: "web",
      namespace: "default",
      uid: "11111111-2222-3333-4444-555555555555",
      creationTimestamp: T0,
      resourceVersion: "5",
    },
    spec: { kind: "container", image: "busybox", networks: [{ network: "net1" }] },
    status,
  };
}

describe("applyReport", () => {
  it("keeps a condition's time while its status stays, moves it when the status changes", () => {
    let i = applyReport(inst(), new StatusReport().blocked("ImageReady", "Downloading", "downloading"), at(100));
    assert.equal(i.status!.conditions![0].lastTransitionTime, at(100));
    assert.equal(i.status!.phase, "Starting");
    i = applyReport(i, new StatusReport().blocked("ImageReady", "Downloading", "still downloading"), at(200));
    assert.equal(i.status!.conditions![0].lastTransitionTime, at(100), "False → False keeps the time");
    i = applyReport(i, new StatusReport().done("ImageReady", "Downloaded", "done", { at: at(250) }), at(300));
    assert.deepEqual([i.status!.conditions![0].status, i.status!.conditions![0].lastTransitionTime], ["True", at(250)]);
    const again = applyReport(i, new StatusReport().done("ImageReady", "Cached", "cached"), at(400));
    assert.deepEqual(again.status!.conditions![0], i.status!.conditions![0], "True → True keeps reason, message and time");
  });

  it("re-stamps per-run steps when the runtime started after they turned True", () => {
    let i = applyReport(inst(), new StatusReport().done("Started", "Runc", "pid 1", { at: at(1000), perRun: true }), at(1000));
    const r = new StatusReport().done("Started", "Runc", "pid 2", { at: at(5000), perRun: true });
    r.runStartedAt = at(5000);
    i = applyReport(i, r, at(5001));
    const c = i.status!.conditions!.find((x) => x.type === "Started")!;
    assert.deepEqual([c.status, c.lastTransitionTime, c.message], ["True", at(5000), "pid 2"]);
    // Same run again: nothing moves.
    const same = applyReport(i, r, at(9000));
    assert.deepEqual(same, i);
  });

  it("keeps server-owned conditions and orders conditions like the flow", () => {
    const start = inst({
      host: "h1",
      conditions: [
        { type: "PortBound", status: "True", reason: "Bound", lastTransitionTime: at(50) },
        { type: "Scheduled", status: "True", reason: "Placed", lastTransitionTime: at(10) },
      ],
    });
    const i = applyReport(
      start,
      new StatusReport().done("NetworkReady", "BridgeUp", "kbr-7", { at: at(60) }).done("ImageReady", "Cached", "c", { at: at(20) }),
      at(70),
    );
    assert.deepEqual(
      i.status!.conditions!.map((c) => c.type),
      ["Scheduled", "ImageReady", "PortBound", "NetworkReady"],
    );
    assert.equal(i.status!.host, "h1");
  });
});

describe("newlyDone", () => {
  it("reports only agent steps that turned True in a write", () => {
    const before = inst({
      conditions: [
        { type: "Scheduled", status: "True", lastTransitionTime: at(10) },
        { type: "ImageReady", status: "True", lastTransitionTime: at(20) },
      ],
    });
    const after = applyReport(before, new StatusReport().done("NetworkReady", "BridgeUp", "x", { at: at(70) }), at(70));
    assert.deepEqual(newlyDone(before, after), [{ step: "NetworkReady", ms: 50 }]);
    assert.deepEqual(newlyDone(after, after), []);
  });
});

describe("instance-spec", () => {
  it("runtime ids are valid driver ids, short, and differ for re-created instances", () => {
    const a = inst();
    const long = { ...a, metadata: { ...a.metadata, name: "x".repeat(63), uid: "other-uid" } };
    for (const i of [a, long]) assert.match(runtimeId(i), INSTANCE_ID_RE);
    assert.ok(runtimeId(long).length <= 33);
    assert.notEqual(runtimeId(a), runtimeId({ ...a, metadata: { ...a.metadata, uid: "new" } }));
    assert.match(vmTapName("port-uid"), /^kt-[0-9a-f]{10}$/);
  });

  it("finds the instance's port and says why it is not usable yet", () => {
    const port = (over: Record<string, unknown>) => ({
      apiVersion: "network.kumo.dev/v1",
      kind: "Port",
      metadata: { name: "web-net1", namespace: "default", uid: "p1" },
      spec: {
        network: "net1",
        deviceOwner: "instance:web",
        macAddress: "52:54:00:00:00:01",
        fixedIPs: [{ subnet: "s", ipAddress: "10.0.0.5" }],
        ...over,
      },
    });
    assert.match(instancePorts(inst(), [], "h1")[0].waiting!, /does not exist/);
    assert.match(instancePorts(inst(), [port({ hostBinding: "h2" })], "h1")[0].waiting!, /not bound to this host/);
    assert.match(
      instancePorts(inst(), [port({ hostBinding: "h1", deviceOwner: "instance:db" })], "h1")[0].waiting!,
      /belongs to instance:db/,
    );
    const ok = instancePorts(inst(), [port({ hostBinding: "h1" })], "h1")[0];
    assert.deepEqual([ok.waiting, ok.port?.metadata.name], [undefined, "web-net1"]);
  });

  it("a reboot is due only when requested after the current run started", () => {
    const i = inst();
    i.metadata.annotations = { "compute.kumo.dev/reboot-requested-at": at(500) };
    assert.equal(rebootRequested(i, at(100)), true);
    assert.equal(rebootRequested(i, at(600)), false);
    assert.equal(rebootRequested(inst(), at(100)), false);
  });
});
