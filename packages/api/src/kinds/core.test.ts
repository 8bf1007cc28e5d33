import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../meta.js";
import { validateObject } from "../validation.js";
import { EventKind, NamespaceKind, SecretKind } from "./core.js";

const fields = (causes: { field?: string }[]) => [...new Set(causes.map((c) => c.field))];
const secret = (body: Record<string, unknown>): KObject => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "s", namespace: "p" },
  ...body,
});

test("Namespace: defaults report Active, or Terminating once deleted", () => {
  const ns: KObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "p" } };
  NamespaceKind.defaults!(ns);
  assert.deepEqual(ns.status, { phase: "Active" });
  const deleted: KObject = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "p", deletionTimestamp: "2024-01-01T00:00:00Z" },
    status: { phase: "Active" },
  };
  NamespaceKind.defaults!(deleted);
  assert.deepEqual(deleted.status, { phase: "Terminating" });
  assert.deepEqual(validateObject(deleted, NamespaceKind), []);
  assert.deepEqual(fields(validateObject({ ...ns, spec: { finalizers: [1] } }, NamespaceKind)), ["spec.finalizers[0]"]);
  assert.equal(NamespaceKind.columns[0].value({ ...ns, status: undefined }), "Active");
});

test("Secret: defaults set type Opaque and fold stringData into data as base64 (UTF-8)", () => {
  const s = secret({ data: { a: "eA==" }, stringData: { b: "héllo", a: "y" } });
  SecretKind.defaults!(s);
  assert.deepEqual(s, secret({ type: "Opaque", data: { a: "eQ==", b: "aMOpbGxv" } }));
  assert.deepEqual(validateObject(s, SecretKind), []);
  const typed = secret({ type: "kumo.dev/token" });
  SecretKind.defaults!(typed);
  assert.equal(typed.type, "kumo.dev/token");
});

test("Secret: data keys must be config keys and values base64; each bad entry names its key", () => {
  const causes = validateObject(secret({ data: { "ok.key-1_x": "YQ==", "bad key": "YQ==", k: "not base64!" } }), SecretKind);
  assert.deepEqual(causes, [
    { field: "data[bad key]", message: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'" },
    { field: "data[k]", message: "must be base64-encoded" },
  ]);
  assert.deepEqual(fields(validateObject(secret({ data: { a: 1 }, immutable: "yes" }), SecretKind)), ["data.a", "immutable"]);
});

test("Secret: columns show the type (Opaque when unset) and the number of keys", () => {
  assert.deepEqual(
    SecretKind.columns.map((c) => c.value(secret({ data: { a: "", b: "" } }))),
    ["Opaque", 2],
  );
});

test("Event: the involved object is required and the type is Normal or Warning; timestamps may be null", () => {
  const ev = (body: Record<string, unknown>): KObject => ({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "e", namespace: "p" },
    ...body,
  });
  const ok = ev({
    involvedObject: { kind: "Instance", name: "i1" },
    reason: "Started",
    type: "Normal",
    count: 2,
    firstTimestamp: null,
    lastTimestamp: "t2",
  });
  assert.deepEqual(validateObject(ok, EventKind), []);
  assert.deepEqual(fields(validateObject(ev({ type: "Info" }), EventKind)), ["involvedObject", "type"]);
  assert.deepEqual(fields(validateObject(ev({ involvedObject: { kind: "X", colour: "red" } }), EventKind)), ["involvedObject.colour"]);
  const full = ev({ ...ok, message: "m", source: { component: "kumo-agent" }, metadata: { name: "e", creationTimestamp: "t0" } });
  assert.deepEqual(
    EventKind.columns.map((c) => c.value(full)),
    ["t2", "Normal", "Started", "instance/i1", "m", "kumo-agent", 2],
  );
  assert.equal(EventKind.columns[0].value({ ...full, lastTimestamp: null }), "t0", "Last Seen falls back to creation");
  assert.equal(EventKind.columns[3].value(ev({})), "");
});
