/** iam.kumo.dev: users, bearer tokens, roles and bindings. Projects are namespaces. */
import { Type } from "@sinclair/typebox";
import { defineKind } from "../kind.js";
import type { KObject } from "../meta.js";
import { Strict } from "./common.js";

/** Members of this group may do everything everywhere. */
export const ADMIN_GROUP = "kumo:admins";

/** A user. Groups grant roles through bindings; `kumo:admins` is all-powerful. */
export const UserKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "User",
  plural: "users",
  namespaced: false,
  statusSubresource: false,
  schema: Strict({
    spec: Type.Optional(
      Strict({
        displayName: Type.Optional(Type.String()),
        groups: Type.Optional(Type.Array(Type.String())),
        disabled: Type.Optional(Type.Boolean()),
      }),
    ),
  }),
  columns: [
    { name: "Groups", type: "string", value: (o) => ((o.spec as { groups?: string[] } | undefined)?.groups ?? []).join(",") },
    { name: "Disabled", type: "boolean", value: (o) => (o.spec as { disabled?: boolean } | undefined)?.disabled ?? false },
  ],
});

/** Token spec. The secret itself is shown once, in the create response's status.bearerToken. */
export interface TokenSpec {
  user: string;
  expiresAt?: string;
  revoked?: boolean;
  description?: string;
}

/** A bearer token for a user; only the SHA-256 of its secret is stored. Delete or set revoked to revoke. */
export const TokenKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "Token",
  plural: "tokens",
  namespaced: false,
  schema: Strict({
    spec: Strict({
      user: Type.String({ minLength: 1 }),
      expiresAt: Type.Optional(Type.String({ format: "date-time" })),
      revoked: Type.Optional(Type.Boolean()),
      description: Type.Optional(Type.String()),
    }),
    status: Type.Optional(
      Strict({
        secretHash: Type.Optional(Type.String()),
        bearerToken: Type.Optional(Type.String()),
        lastUsedTime: Type.Optional(Type.String()),
      }),
    ),
  }),
  columns: [
    { name: "User", type: "string", value: (o) => (o.spec as TokenSpec).user },
    { name: "Expires", type: "string", value: (o) => (o.spec as TokenSpec).expiresAt ?? "never" },
    { name: "Revoked", type: "boolean", value: (o) => (o.spec as TokenSpec).revoked ?? false },
  ],
});

/** One permission rule: verbs × resources (× API groups). "*" matches everything. */
export interface PolicyRule {
  apiGroups?: string[];
  resources: string[];
  verbs: string[];
}

const Rule = Strict({
  apiGroups: Type.Optional(Type.Array(Type.String())),
  resources: Type.Array(Type.String()),
  verbs: Type.Array(Type.String()),
});

/** A named set of rules (cluster-scoped, reusable in any project). */
export const RoleKind = defineKind({
  group: "iam.kumo.dev",
  version: "v1",
  kind: "Role",
  plural: "roles",
  namespaced: false,
  statusSubresource: false,
  schema: Strict({ rules: Type.Array(Rule) }),
  generationFields: ["rules"],
  columns: [{ name: "Rules", type: "integer", value: (o) => (o.rules as PolicyRule[]).length }],
});

/** A subject of a binding. */
export interface Subject {
  kind: "User" | "Group";
  name: string;
}

const BindingSchema = Strict({
  roleRef: Strict({ name: Type.String({ minLength: 1 }) }),
  subjects: Type.Array(Strict({ kind: Type.Union([Type.Literal("User"), Type.Literal("Group")]), name: Type.String({ minLength: 1 }) })),
});

const bindingColumns = [
  { name: "Role", type: "string" as const, value: (o: KObject) => (o.roleRef as { name: string }).name },
  { name: "Subjects", type: "string" as const, value: (o: KObject) => (o.subjects as Subject[]).map((s) => `${s.kind}/${s.name}`).join(",") },
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
