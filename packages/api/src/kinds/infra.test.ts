import { test } from "node:test";
import assert from "node:assert/strict";
import { validateObject } from "../validation.js";
import { HostKind, VTEP_IP_ANNOTATION, type Host } from "./infra.js";

const fields = (causes: { field?: string }[]) => causes.map((c) => c.field);
const host = (h: Partial<Host> = {}): Host => ({ apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "h1" }, ...h });
const ready = (status: "True" | "False") => ({ conditions: [{ type: "Ready", status }] });

test("Host: a registered host with capacity, addresses and a dataplane summary is valid", () => {
  const h = host({
    spec: { capacity: { cpu: 4000, memoryMiB: 8192, instances: 20 }, underlayIP: "192.168.0.10" },
    status: {
      ...ready("True"),
      addresses: [{ type: "Underlay", address: "192.168.0.10" }],
      allocatable: { cpu: 4000 },
      allocated: { cpu: 0 },
      lastHeartbeatTime: "2024-01-01T00:00:00Z",
      agentVersion: "0.1.0",
      dataplane: {
        lastSyncTime: "t",
        syncDurationMs: 1.5,
        driftRepairsTotal: 0,
        networks: 1,
        entries: { fdb: { desired: 2, actual: 2 } },
        problems: [],
      },
    },
  });
  assert.deepEqual(validateObject(h, HostKind), []);
  assert.deepEqual(validateObject(host(), HostKind), [], "spec and status are optional: the agent registers first");
});

test("Host: the schema names each bad field", () => {
  assert.deepEqual(fields(validateObject(host({ spec: { underlayIP: "192.168.0" } }), HostKind)), ["spec.underlayIP"]);
  assert.deepEqual(fields(validateObject(host({ spec: { capacity: { cpu: -1, memoryMiB: 1.5 } } }), HostKind)), [
    "spec.capacity.cpu",
    "spec.capacity.memoryMiB",
  ]);
  const badStatus = host({
    status: {
      conditions: [{ type: "Ready", status: "Maybe" as "True" }],
      dataplane: { entries: { fdb: { desired: 1 } as { desired: number; actual: number } } },
    },
  });
  assert.deepEqual(fields(validateObject(badStatus, HostKind)), [
    "status.conditions[0].status",
    "status.dataplane.entries.fdb.actual",
    "status.dataplane.entries.fdb.actual",
  ]);
});

test("Host: columns show readiness, underlay, capacity, and the wide VTEP and heartbeat", () => {
  const h = host({
    metadata: { name: "h1", annotations: { [VTEP_IP_ANNOTATION]: "192.168.0.10" } },
    spec: { capacity: { cpu: 2000, memoryMiB: 4096 } },
    status: { ...ready("True"), addresses: [{ type: "Underlay", address: "192.168.0.10" }], lastHeartbeatTime: "t1" },
  });
  assert.deepEqual(
    HostKind.columns.map((c) => c.value(h)),
    ["Ready", "192.168.0.10", 2000, "4096Mi", "192.168.0.10", "t1"],
  );
  assert.equal(HostKind.columns[0].value(host({ status: ready("False") })), "NotReady");
  assert.deepEqual(
    HostKind.columns.map((c) => c.value(host())),
    ["Unknown", undefined, undefined, undefined, undefined, undefined],
  );
  assert.equal(
    HostKind.columns[1].value(host({ spec: { underlayIP: "10.9.9.9" }, status: { addresses: [{ type: "x", address: "y" }] } })),
    "10.9.9.9",
  );
});
