import { test } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { defineKind } from "./kind.js";
import { Strict } from "./kinds/common.js";
import type { KObject } from "./meta.js";
import { pointerToPath, validateMetadata, validateObject } from "./validation.js";

let semanticCalls = 0;
const Box = defineKind({
  group: "test.kumo.dev",
  version: "v1",
  kind: "Box",
  plural: "boxes",
  namespaced: true,
  schema: Strict({
    spec: Strict({
      size: Type.Integer({ minimum: 1 }),
      ip: Type.Optional(Type.String({ format: "ipv4" })),
      until: Type.Optional(Type.String({ format: "date-time" })),
      items: Type.Optional(Type.Array(Strict({ name: Type.String() }))),
    }),
  }),
  validate: (o) => {
    semanticCalls++;
    return o.spec!.size > 10 ? [{ field: "spec.size", message: "too big" }] : [];
  },
});
const NamespaceLike = defineKind({
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  namespaced: false,
  schema: Strict({}),
});
const box = (body: Record<string, unknown>, metadata: Record<string, unknown> = { name: "b1" }): KObject => ({
  apiVersion: "test.kumo.dev/v1",
  kind: "Box",
  metadata,
  ...body,
});

test("JSON pointers become kubectl field paths, with ~1 and ~0 unescaped", () => {
  assert.equal(pointerToPath("/spec/capacity/cpu"), "spec.capacity.cpu");
  assert.equal(pointerToPath("/spec/items/0/name"), "spec.items[0].name");
  assert.equal(pointerToPath("/metadata/annotations/a~1b~0c"), "metadata.annotations.a/b~c");
  assert.equal(pointerToPath(""), "");
});

test("a valid object has no causes and reaches the kind's own validation", () => {
  semanticCalls = 0;
  assert.deepEqual(
    validateObject(box({ spec: { size: 2, ip: "10.0.0.1", until: "2030-01-01T00:00:00Z", items: [{ name: "a" }] } }), Box),
    [],
  );
  assert.equal(semanticCalls, 1);
  assert.deepEqual(validateObject(box({ spec: { size: 11 } }), Box), [{ field: "spec.size", message: "too big" }]);
});

test("schema errors name the field, the value and the rule; the kind's validation does not run then", () => {
  semanticCalls = 0;
  const causes = validateObject(box({ spec: { size: 0, ip: "10.0.0.256", until: "tomorrow", items: [{ name: 1 }] } }), Box);
  assert.deepEqual(causes, [
    { field: "spec.size", message: "Invalid value: 0: Expected integer to be greater or equal to 1", reason: "FieldValueInvalid" },
    { field: "spec.ip", message: "Invalid value: \"10.0.0.256\": Expected string to match 'ipv4' format", reason: "FieldValueInvalid" },
    {
      field: "spec.until",
      message: "Invalid value: \"tomorrow\": Expected string to match 'date-time' format",
      reason: "FieldValueInvalid",
    },
    { field: "spec.items[0].name", message: "Invalid value: 1: Expected string", reason: "FieldValueInvalid" },
  ]);
  assert.equal(semanticCalls, 0);
});

test("unknown fields are named one by one at any depth, as strict field validation does", () => {
  const causes = validateObject(box({ spec: { size: 1, colour: "red", items: [{ name: "a", extra: true }] }, top: 1 }), Box);
  assert.deepEqual(
    causes.map((c) => [c.field, c.message]),
    [
      ["top", 'unknown field "top"'],
      ["spec.colour", 'unknown field "spec.colour"'],
      ["spec.items[0].extra", 'unknown field "spec.items[0].extra"'],
    ],
  );
});

test("a missing required field is reported on that field", () => {
  const causes = validateObject(box({}), Box);
  assert.deepEqual(
    causes.map((c) => c.field),
    ["spec", "spec"],
  );
  assert.deepEqual(
    causes.map((c) => c.message),
    ["Invalid value: undefined: Expected required property", "Invalid value: undefined: Expected object"],
  );
});

test("metadata: unknown fields, wrong types and bad names are causes on metadata.*", () => {
  const causes = validateMetadata(box({}, { name: "Bad_Name", uid: 7, colour: "x" }), Box);
  assert.deepEqual(
    causes.map((c) => c.field),
    ["metadata.colour", "metadata.uid", "metadata.name"],
  );
  assert.match(causes[2].message, /^Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/);
  assert.deepEqual(validateMetadata({ apiVersion: "v1", kind: "Box", metadata: [] as unknown as KObject["metadata"] }, Box), [
    { field: "metadata", message: "must be an object", reason: "FieldValueInvalid" },
  ]);
});

test("namespace names are labels (no dots); other names are subdomains", () => {
  const ns = { apiVersion: "v1", kind: "Namespace", metadata: { name: "a.b" } };
  assert.match(validateMetadata(ns, NamespaceLike)[0]?.message ?? "", /^Invalid value: "a.b": a lowercase RFC 1123 label/);
  assert.deepEqual(validateMetadata(box({}, { name: "a.b" }), Box), []);
});

test("labels and annotations: keys and label values are checked, values must be strings", () => {
  const causes = validateMetadata(box({}, { name: "b", labels: { ok: "fine", "-bad": "x", k: "bad value" }, annotations: { n: 1 } }), Box);
  assert.deepEqual(
    causes.map((c) => c.field),
    ["metadata.labels", "metadata.labels.k", "metadata.annotations.n"],
  );
  assert.match(causes[0].message, /^Invalid value: "-bad": name part must consist of/);
  assert.equal(causes[2].message, "must be a string");
  assert.deepEqual(
    validateMetadata(box({}, { name: "b", labels: ["x"] }), Box).map((c) => c.message),
    ["must be a map of string to string"],
  );
});

test("finalizers must be strings; owner references need apiVersion, kind, name and uid", () => {
  assert.deepEqual(
    validateMetadata(box({}, { finalizers: ["a", 1] }), Box).map((c) => c.field),
    ["metadata.finalizers"],
  );
  const refs = validateMetadata(box({}, { ownerReferences: [{ apiVersion: "v1", kind: "X", name: "", uid: "u" }] }), Box);
  assert.deepEqual(refs, [{ field: "metadata.ownerReferences[0].name", message: "Required value", reason: "FieldValueRequired" }]);
  assert.deepEqual(
    validateMetadata(box({}, { ownerReferences: {} }), Box).map((c) => c.message),
    ["must be a list"],
  );
});
