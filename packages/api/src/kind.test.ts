import { test } from "node:test";
import assert from "node:assert/strict";
import { Type } from "@sinclair/typebox";
import { KindRegistry, apiVersionOfKind, defineKind, type KindDefinition, type ObjectOf } from "./kind.js";
import { Strict } from "./kinds/common.js";

const Gadget = defineKind({
  group: "test.kumo.dev",
  version: "v1",
  kind: "Gadget",
  plural: "gadgets",
  shortNames: ["gd"],
  namespaced: true,
  schema: Strict({ spec: Strict({ size: Type.Integer() }), status: Type.Optional(Strict({ ready: Type.Boolean() })) }),
  columns: [{ name: "Size", type: "integer", value: (o) => o.spec?.size }],
});
const Setting = defineKind({
  group: "",
  version: "v1",
  kind: "Setting",
  plural: "settings",
  namespaced: false,
  schema: Strict({ value: Type.String() }),
});
const OtherGadget = defineKind({
  group: "other.kumo.dev",
  version: "v2",
  kind: "Gadget",
  plural: "gadgets",
  namespaced: false,
  schema: Strict({}),
});

test("defineKind derives the singular, categories and the status subresource from the input", () => {
  assert.equal(Gadget.singular, "gadget");
  assert.deepEqual(Gadget.categories, ["kumo"]);
  assert.equal(Gadget.statusSubresource, true, "a schema with status gets /status");
  assert.equal(Setting.statusSubresource, false);
  assert.deepEqual([Setting.shortNames, Setting.columns], [[], []]);
  const explicit = defineKind({
    group: "g",
    version: "v1",
    kind: "X",
    plural: "xs",
    singular: "ex",
    categories: [],
    namespaced: true,
    schema: Strict({}),
  });
  assert.deepEqual([explicit.singular, explicit.categories], ["ex", []]);
});

test("the hooks of a defined kind run on plain objects (the typed input is only a compile-time view)", () => {
  assert.equal(Gadget.columns[0].value({ apiVersion: "test.kumo.dev/v1", kind: "Gadget", metadata: {}, spec: { size: 3 } }), 3);
  // ObjectOf recovers the types; this line fails to compile if spec stops being typed.
  const g: ObjectOf<typeof Gadget> = {
    apiVersion: "test.kumo.dev/v1",
    kind: "Gadget",
    metadata: {},
    spec: { size: 1 },
    status: { ready: true },
  };
  // @ts-expect-error size is an integer in the schema, so a string does not fit
  const bad: ObjectOf<typeof Gadget> = { apiVersion: "test.kumo.dev/v1", kind: "Gadget", metadata: {}, spec: { size: "1" } };
  const plain: KindDefinition = Gadget; // typed kinds are still plain KindDefinitions
  assert.equal(plain, Gadget);
  void [g, bad];
});

test("apiVersionOfKind is group/version, or the version alone for the core group", () => {
  assert.equal(apiVersionOfKind(Gadget), "test.kumo.dev/v1");
  assert.equal(apiVersionOfKind(Setting), "v1");
});

test("the registry refuses a second kind at the same group/version/plural", () => {
  const r = new KindRegistry([Gadget]);
  assert.throws(() => r.add({ ...Gadget }), /kind Gadget \(gadgets\.test\.kumo\.dev\) registered twice/);
  r.add(OtherGadget); // same plural in another group is fine
  assert.equal(r.all().length, 2);
});

test("the registry finds kinds by resource and by group + kind", () => {
  const r = new KindRegistry([Gadget, Setting, OtherGadget]);
  assert.equal(r.byResource("test.kumo.dev", "v1", "gadgets"), Gadget);
  assert.equal(r.byResource("test.kumo.dev", "v2", "gadgets"), undefined);
  assert.equal(r.byKind("other.kumo.dev", "Gadget"), OtherGadget);
  assert.equal(r.byKind("", "Setting"), Setting);
  assert.equal(r.byKind("", "Gadget"), undefined);
});

test("resolve takes what a user types: plural, singular, short name, kind, any case, optionally .group", () => {
  const r = new KindRegistry([Gadget, Setting, OtherGadget]);
  for (const q of ["gadgets", "gadget", "gd", "Gadget", "GADGETS", "gadgets.test.kumo.dev", "gd.test.kumo.dev"])
    assert.equal(r.resolve(q), Gadget, q);
  assert.equal(r.resolve("gadgets.other.kumo.dev"), OtherGadget);
  assert.equal(r.resolve("setting"), Setting);
  for (const q of ["gadgetz", "gadgets.nope.kumo.dev", "", "settings.test.kumo.dev"]) assert.equal(r.resolve(q), undefined, q);
});

test("groups lists each group's versions once, in registration order", () => {
  const r = new KindRegistry([
    Gadget,
    Setting,
    OtherGadget,
    defineKind({ ...Setting, kind: "Other", plural: "others", schema: Strict({}) }),
  ]);
  assert.deepEqual(
    [...r.groups()],
    [
      ["test.kumo.dev", ["v1"]],
      ["", ["v1"]],
      ["other.kumo.dev", ["v2"]],
    ],
  );
});
