import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "../meta.js";
import { validateObject } from "../validation.js";
import { ClusterRoleBindingKind, RoleBindingKind, RoleKind, TokenKind, UserKind } from "./iam.js";

const fields = (causes: { field?: string }[]) => [...new Set(causes.map((c) => c.field))];
const obj = (kind: string, body: Record<string, unknown>): KObject => ({
  apiVersion: "iam.kumo.dev/v1",
  kind,
  metadata: { name: "x" },
  ...body,
});

test("User: display name, groups and disabled are the only fields; columns join the groups", () => {
  const u = obj("User", { spec: { displayName: "Ann", groups: ["kumo:admins", "ops"], disabled: false } });
  assert.deepEqual(validateObject(u, UserKind), []);
  assert.deepEqual(validateObject(obj("User", {}), UserKind), []);
  assert.deepEqual(fields(validateObject(obj("User", { spec: { groups: "ops", admin: true } }), UserKind)), ["spec.admin", "spec.groups"]);
  assert.deepEqual(
    UserKind.columns.map((c) => c.value(u)),
    ["kumo:admins,ops", false],
  );
  assert.deepEqual(
    UserKind.columns.map((c) => c.value(obj("User", {}))),
    ["", false],
  );
});

test("Token: a user is required and expiry is an RFC 3339 time; columns default to never / not revoked", () => {
  const t = obj("Token", { spec: { user: "ann", expiresAt: "2030-01-01T00:00:00Z" }, status: { secretHash: "h" } });
  assert.deepEqual(validateObject(t, TokenKind), []);
  assert.deepEqual(fields(validateObject(obj("Token", { spec: { user: "", expiresAt: "next year" } }), TokenKind)), [
    "spec.user",
    "spec.expiresAt",
  ]);
  assert.deepEqual(fields(validateObject(obj("Token", { spec: {} }), TokenKind)), ["spec.user"]);
  assert.deepEqual(
    TokenKind.columns.map((c) => c.value(t)),
    ["ann", "2030-01-01T00:00:00Z", false],
  );
  assert.deepEqual(
    TokenKind.columns.map((c) => c.value(obj("Token", { spec: { user: "bob", revoked: true } }))),
    ["bob", "never", true],
  );
});

test("Role: rules need resources and verbs; the column counts them", () => {
  const r = obj("Role", {
    rules: [
      { apiGroups: [""], resources: ["events"], verbs: ["get"] },
      { resources: ["*"], verbs: ["*"] },
    ],
  });
  assert.deepEqual(validateObject(r, RoleKind), []);
  assert.deepEqual(fields(validateObject(obj("Role", { rules: [{ resources: ["x"] }] }), RoleKind)), ["rules[0].verbs"]);
  assert.deepEqual(fields(validateObject(obj("Role", {}), RoleKind)), ["rules"]);
  assert.equal(RoleKind.columns[0].value(r), 2);
});

test("bindings: a role name and subjects that are Users or Groups; columns name both", () => {
  for (const kind of [RoleBindingKind, ClusterRoleBindingKind]) {
    const b = obj(kind.kind, {
      roleRef: { name: "viewer" },
      subjects: [
        { kind: "User", name: "ann" },
        { kind: "Group", name: "ops" },
      ],
    });
    assert.deepEqual(validateObject(b, kind), [], kind.kind);
    const bad = obj(kind.kind, { roleRef: { name: "" }, subjects: [{ kind: "Robot", name: "r2" }] });
    assert.deepEqual(fields(validateObject(bad, kind)), ["roleRef.name", "subjects[0].kind"], kind.kind);
    assert.deepEqual(
      kind.columns.map((c) => c.value(b)),
      ["viewer", "User/ann,Group/ops"],
      kind.kind,
    );
  }
});
