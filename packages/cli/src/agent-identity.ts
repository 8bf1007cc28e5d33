/**
 * The agents' own identity: user `kumo-agent` with a role that covers exactly what an agent writes, and a
 * bearer token kept in `$KUMO_HOME/hosts/agent.token`. With it, the write history and audit log say "user
 * kumo-agent" for the agents' writes instead of the admin's, and an agent cannot touch users or roles.
 */
import { readFile } from "node:fs/promises";
import { ClusterRoleBindingKind, type KindDefinition, type KObject, RoleKind, TokenKind, UserKind } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { createNodeFetch } from "@kumo/runtime";

/** The agents' user name. */
export const AGENT_USER = "kumo-agent";

const RULES = [
  { apiGroups: ["infra.kumo.dev"], resources: ["hosts", "hosts/status"], verbs: ["get", "list", "watch", "create", "patch", "update"] },
  { apiGroups: ["network.kumo.dev"], resources: ["networks", "subnets"], verbs: ["get", "list", "watch"] },
  {
    apiGroups: ["network.kumo.dev"],
    resources: ["ports", "ports/status"],
    verbs: ["get", "list", "watch", "create", "patch", "update", "delete"],
  },
  {
    apiGroups: ["compute.kumo.dev"],
    resources: ["instances", "instances/status", "images", "flavors"],
    verbs: ["get", "list", "watch", "patch", "update"],
  },
  { apiGroups: [""], resources: ["events"], verbs: ["create", "get", "list"] },
];

async function ensure(client: KumoClient, kind: KindDefinition, obj: KObject): Promise<void> {
  await client.create(kind, obj, { fieldManager: "kumo-up" }).catch((e) => {
    if ((e as { reason?: string }).reason !== "AlreadyExists") throw e;
  });
}

/** Returns a valid agent token: the one in `file` if the API still accepts it, else a new one written there. */
export async function ensureAgentToken(o: {
  server: string;
  caPem: string;
  adminToken: string;
  file: string;
  write: (path: string, content: string) => Promise<void>;
}): Promise<string> {
  const fetch = createNodeFetch({ caPem: o.caPem });
  const existing = (await readFile(o.file, "utf8").catch(() => "")).trim();
  if (existing) {
    const probe = new KumoClient({ server: o.server, token: existing, fetch });
    if (
      await probe.list(RoleKind).then(
        () => false,
        (e) => (e as { code?: number }).code === 403,
      )
    )
      return existing; // valid, and not an admin
  }
  const admin = new KumoClient({ server: o.server, token: o.adminToken, fetch });
  await ensure(admin, UserKind, {
    apiVersion: "iam.kumo.dev/v1",
    kind: "User",
    metadata: { name: AGENT_USER },
    spec: { displayName: "kumo host agents", groups: ["kumo:agents"] },
  });
  await ensure(admin, RoleKind, { apiVersion: "iam.kumo.dev/v1", kind: "Role", metadata: { name: AGENT_USER }, rules: RULES });
  await ensure(admin, ClusterRoleBindingKind, {
    apiVersion: "iam.kumo.dev/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: AGENT_USER },
    roleRef: { name: AGENT_USER },
    subjects: [{ kind: "Group", name: "kumo:agents" }],
  });
  const spec = { user: AGENT_USER, description: "host agents of this cloud (kumo up)" };
  const obj = { apiVersion: "iam.kumo.dev/v1", kind: "Token", metadata: { generateName: "kumo-agent-" }, spec };
  const token = await admin.create(TokenKind, obj, { fieldManager: "kumo-up" });
  const secret = token.status?.bearerToken;
  if (!secret) throw new Error("the server did not return the new agent token");
  await o.write(o.file, secret + "\n");
  return secret;
}
