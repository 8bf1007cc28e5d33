import { test } from "node:test";
import assert from "node:assert/strict";
import type { Table, WriteHistory } from "@kumo/client";
import { conditionTimeline, describeLines } from "./describe.js";
import { age, formatDuration } from "./durations.js";
import { historyLines, pathMatches } from "./history.js";
import { formatTable } from "./table.js";

const table: Table = {
  kind: "Table",
  apiVersion: "meta.k8s.io/v1",
  metadata: { resourceVersion: "9" },
  columnDefinitions: [
    { name: "Name", type: "string", format: "name", priority: 0 },
    { name: "Status", type: "string", priority: 0 },
    { name: "VTEP", type: "string", priority: 1 },
    { name: "Age", type: "string", priority: 0 },
  ],
  rows: [
    {
      cells: ["host-one", "Ready", "10.0.0.1", "5m"],
      object: { apiVersion: "", kind: "", metadata: { name: "host-one", namespace: "p1" } },
    },
    { cells: ["h2", null, "10.0.0.2", "12s"], object: { apiVersion: "", kind: "", metadata: { name: "h2", namespace: "p2" } } },
  ],
};

test("tables: priority columns only when wide, aligned with three spaces, <none> for empty cells", () => {
  assert.deepEqual(formatTable(table), ["NAME       STATUS   AGE", "host-one   Ready    5m", "h2         <none>   12s"]);
  assert.equal(formatTable(table, { wide: true })[0], "NAME       STATUS   VTEP       AGE");
  assert.deepEqual(formatTable(table, { withNamespace: true, noHeaders: true }), [
    "p1   host-one   Ready    5m",
    "p2   h2         <none>   12s",
  ]);
});

test("durations and ages read like kubectl's", () => {
  assert.deepEqual([450, 4321, 42_000, 312_000, 3 * 3600_000 + 4 * 60_000, 50 * 3600_000].map(formatDuration), [
    "450ms",
    "4.3s",
    "42s",
    "5m12s",
    "3h4m",
    "2d2h",
  ]);
  assert.equal(age("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:00:05.900Z")), "5s");
  assert.equal(age(undefined), "<unknown>");
});

test("conditions become a timeline: sorted by time, step durations, and where it stopped", () => {
  const lines = conditionTimeline(
    [
      { type: "Running", status: "False", reason: "ImagePull", message: "pulling\nslowly", lastTransitionTime: "2026-01-01T00:00:09Z" },
      { type: "Scheduled", status: "True", reason: "Bound", lastTransitionTime: "2026-01-01T00:00:01.500Z" },
      { type: "PortBound", status: "True", lastTransitionTime: "2026-01-01T00:00:04Z" },
    ],
    "2026-01-01T00:00:00Z",
    Date.parse("2026-01-01T00:01:09Z"),
  );
  assert.equal(lines[0], "Conditions:");
  assert.match(lines[1], /^ {2}TIME +STEP +TYPE +STATUS +REASON +MESSAGE$/);
  assert.match(lines[2], /2026-01-01 00:00:01Z +\+1\.5s +Scheduled +True +Bound/);
  assert.match(lines[3], /\+2\.5s +PortBound +True/);
  assert.match(lines[4], /\+5s +Running +False +ImagePull +pulling slowly$/);
  assert.equal(lines[5], "  9s from creation to the last step; not True: Running (last change 1m ago)");
});

test("describe shows identity, maps, spec/status without conditions, and events newest last", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  const text = describeLines({
    now,
    obj: {
      apiVersion: "infra.kumo.dev/v1",
      kind: "Host",
      metadata: {
        name: "h1",
        uid: "u-1",
        resourceVersion: "7",
        creationTimestamp: "2026-01-01T00:00:00Z",
        labels: { rack: "a" },
        annotations: { "x.kumo.dev/y": "z" },
      },
      spec: { capacity: { cpu: 8 } },
      status: { conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:03Z" }], agentVersion: "1" },
    },
    events: [
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e2" },
        type: "Warning",
        reason: "Late",
        message: "second",
        lastTimestamp: "2026-01-01T00:09:00Z",
        source: { component: "ctl" },
      },
      {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: "e1" },
        type: "Normal",
        reason: "Registered",
        message: "first",
        lastTimestamp: "2026-01-01T00:00:02Z",
        count: 3,
        reportingComponent: "kumo-agent",
      },
    ],
  }).join("\n");
  assert.match(
    text,
    new RegExp(
      String.raw`^Name: +h1\nKind: +Host \(infra.kumo.dev\/v1\)\nLabels: +rack=a\n` +
        String.raw`Annotations: +x.kumo.dev\/y: z\nCreated: +2026-01-01 00:00:00Z \(10m ago\)`,
    ),
  );
  assert.match(text, /\nSpec:\n {2}capacity:\n {4}cpu: 8\nStatus:\n {2}agentVersion: "1"\nConditions:\n/);
  assert.doesNotMatch(text, /Status:\n {2}conditions/);
  assert.match(text, /\+3s +Ready +True/);
  assert.match(
    text,
    new RegExp(
      String.raw`Events:\n {2}LAST SEEN +TYPE +REASON +FROM +MESSAGE\n {2}9m58s \(x3\) +Normal +Registered +kumo-agent +first` +
        String.raw`\n {2}1m +Warning +Late +ctl +second$`,
    ),
  );
  assert.match(
    describeLines({ obj: { apiVersion: "v1", kind: "Namespace", metadata: { name: "p" } }, events: "forbidden" }).join("\n"),
    /Conditions: +<none>\nEvents: +<unavailable: forbidden>$/,
  );
});

const history: WriteHistory = {
  kind: "WriteHistory",
  apiVersion: "v1",
  items: [
    {
      revision: "5",
      time: "2026-01-01T00:00:00.123Z",
      manager: "kumo-agent",
      user: "agent-h1",
      operation: "Update",
      force: false,
      changes: [
        { path: "metadata.annotations[network.kumo.dev/vtep-ip]", op: "set", value: "10.0.0.1" },
        { path: "spec.cpu", op: "set", value: 1 },
      ],
    },
    {
      revision: "9",
      time: "2026-01-01T00:05:00Z",
      manager: "mgmt",
      user: "admin",
      operation: "Update",
      force: true,
      changes: [{ path: "metadata.annotations[network.kumo.dev/vtep-ip]", op: "remove", previous: "10.0.0.1" }],
    },
    { revision: "12", time: "2026-01-01T00:06:00Z", manager: "kumo-cli", user: "admin", operation: "Delete", force: false, changes: [] },
  ],
};

test("history groups writes per field: who set it, who removed it (forced), when", () => {
  const lines = historyLines(history);
  assert.match(lines[0], /^FIELD +REVISION +TIME +ACTION +MANAGER +USER +OPERATION +VALUE$/);
  assert.match(lines[1], /^\(object\) +12 +2026-01-01 00:06:00Z +delete +kumo-cli/);
  assert.match(
    lines[2],
    /^metadata.annotations\[network.kumo.dev\/vtep-ip\] +5 +2026-01-01 00:00:00Z +set +kumo-agent +agent-h1 +Update +"10.0.0.1"$/,
  );
  assert.match(lines[3], /^ +9 +2026-01-01 00:05:00Z +removed +mgmt +admin +Update \(force\) +\(was "10.0.0.1"\)$/);
  assert.match(lines[4], /^spec.cpu +5 /);
  assert.equal(lines.length, 5);
});

test("--field matches dotted or bracketed paths and everything below", () => {
  assert.ok(pathMatches("metadata.annotations[network.kumo.dev/vtep-ip]", "metadata.annotations.network.kumo.dev/vtep-ip"));
  assert.ok(pathMatches("metadata.annotations[network.kumo.dev/vtep-ip]", "metadata.annotations"));
  assert.ok(!pathMatches("metadata.annotationsX", "metadata.annotations"));
  assert.equal(historyLines(history, "spec").length, 2);
  assert.deepEqual(historyLines(history, "status.phase"), ["no recorded writes touched status.phase"]);
});
