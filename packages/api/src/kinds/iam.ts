/** iam.kumo.dev: users, bearer tokens, roles and bindings. Projects are namespaces. */
import { Type, type Static } from "@sinclair/typebox";
import { defineKind, type ObjectOfSchema, type PrinterColumn } from "../kind.js";
import { Strict } from "./common.js";

/** Members of this group may do everything everywhere. */
export const ADMIN_GROUP = "kumo:admins";

/** Schema of a User's spec. */
export const UserSpecSchema = Strict({
  displayName: Type.Optional(Type.String()),
  groups: Type.Optional(Type.Array(Type.String())),
  disabled: Type.Optional(Type.Boolean()),
});
/** User spec. */
export type UserSpec = Static<typeof UserSpecSchema>;

/** A user. Groups grant roles through bindings; `kumo:admins` is all-powerful. */
export const UserKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "User",
  plural: "users",
  namespaced: false,
  statusSubresource: false,
  schema: Strict({ spec: Type.Optional(UserSpecSchema) }),
  columns: [
    { name: "Groups", type: "string", value: (o) => (o.spec?.groups ?? []).join(",") },
    { name: "Disabled", type: "boolean", value: (o) => o.spec?.disabled ?? false },
  ],
});

/** Schema of a Token's spec. The secret itself is shown once, in the create response's status.bearerToken. */
export const TokenSpecSchema = Strict({
  user: Type.String({ minLength: 1 }),
  expiresAt: Type.Optional(Type.String({ format: "date-time" })),
  revoked: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.String()),
});
/** Token spec. */
export type TokenSpec = Static<typeof TokenSpecSchema>;

/** Schema of a Token's status: only the SHA-256 of the secret is kept. */
export const TokenStatusSchema = Strict({
  secretHash: Type.Optional(Type.String()),
  bearerToken: Type.Optional(Type.String()),
  lastUsedTime: Type.Optional(Type.String()),
});
/** Token status. */
export type TokenStatus = Static<typeof TokenStatusSchema>;

/** A bearer token for a user; only the SHA-256 of its secret is stored. Delete or set revoked to revoke. */
export const TokenKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "Token",
  plural: "tokens",
  namespaced: false,
  schema: Strict({ spec: TokenSpecSchema, status: Type.Optional(TokenStatusSchema) }),
  columns: [
    { name: "User", type: "string", value: (o) => o.spec?.user },
    { name: "Expires", type: "string", value: (o) => o.spec?.expiresAt ?? "never" },
    { name: "Revoked", type: "boolean", value: (o) => o.spec?.revoked ?? false },
  ],
});

/** Schema of one permission rule: verbs × resources (× API groups). "*" matches everything. */
export const PolicyRuleSchema = Strict({
  apiGroups: Type.Optional(Type.Array(Type.String())),
  resources: Type.Array(Type.String()),
  verbs: Type.Array(Type.String()),
});
/** One permission rule. */
export type PolicyRule = Static<typeof PolicyRuleSchema>;

/** A named set of rules (cluster-scoped, reusable in any project). */
export const RoleKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "Role",
  plural: "roles",
  namespaced: false,
  statusSubresource: false,
  schema: Strict({ rules: Type.Array(PolicyRuleSchema) }),
  generationFields: ["rules"],
  columns: [{ name: "Rules", type: "integer", value: (o) => o.rules.length }],
});

/** Schema of a subject of a binding. */
export const SubjectSchema = Strict({
  kind: Type.Union([Type.Literal("User"), Type.Literal("Group")]),
  name: Type.String({ minLength: 1 }),
});
/** A subject of a binding. */
export type Subject = Static<typeof SubjectSchema>;

const BindingSchema = Strict({
  roleRef: Strict({ name: Type.String({ minLength: 1 }) }),
  subjects: Type.Array(SubjectSchema),
});

/** A RoleBinding or ClusterRoleBinding object. */
export type Binding = ObjectOfSchema<typeof BindingSchema>;

const bindingColumns: PrinterColumn<Binding>[] = [
  { name: "Role", type: "string", value: (o) => o.roleRef.name },
  { name: "Subjects", type: "string", value: (o) => o.subjects.map((s) => `${s.kind}/${s.name}`).join(",") },
];

/** Grants a Role's rules inside one project (namespace). */
export const RoleBindingKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "RoleBinding",
  plural: "rolebindings",
  namespaced: true,
  statusSubresource: false,
  schema: BindingSchema,
  generationFields: ["roleRef", "subjects"],
  columns: bindingColumns,
});

/** Grants a Role's rules in every project and on cluster-scoped kinds (hosts, users, ...). */
export const ClusterRoleBindingKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "ClusterRoleBinding",
  plural: "clusterrolebindings",
  namespaced: false,
  statusSubresource: false,
  schema: BindingSchema,
  generationFields: ["roleRef", "subjects"],
  columns: bindingColumns,
});
