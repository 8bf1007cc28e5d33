/** First-start identity: the admin user, built-in roles and a bootstrap admin token (written to the data dir). */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ADMIN_GROUP,
  AGENT_PROXY_TOKEN_FILE,
  isNotFound,
  type KindDefinition,
  type KObject,
  NamespaceKind,
  RoleKind,
  TokenKind,
  UserKind,
} from "@kumo/api";
import type { ObjectStore } from "../registry/store.js";
import { hashToken } from "./iam-cache.js";

const SYSTEM = { user: "system:kumo-server", manager: "kumo-server" };

/** Generates a new bearer token secret: `kumo_<40 hex>`. */
export function newBearerToken(): string {
  return `kumo_${randomBytes(20).toString("hex")}`;
}

async function ensure(store: ObjectStore, kind: KindDefinition, obj: KObject, ns?: string): Promise<void> {
  try {
    await store.get(kind, ns, obj.metadata.name!);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await store.create(kind, ns, obj, SYSTEM);
  }
}

/** Creates what a fresh cloud needs; idempotent. Returns the admin bearer token. */
export async function bootstrap(store: ObjectStore, dataDir: string): Promise<string> {
  for (const ns of ["default", "kumo-system"])
    await ensure(store, NamespaceKind, { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  const roles: Record<string, { verbs: string[] }> = {
    admin: { verbs: ["*"] },
    edit: { verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
    view: { verbs: ["get", "list", "watch"] },
  };
  for (const [name, r] of Object.entries(roles)) {
    await ensure(store, RoleKind, {
      apiVersion: "iam.kumo.dev/v1",
      kind: "Role",
      metadata: { name },
      rules: [{ apiGroups: ["*"], resources: ["*"], verbs: r.verbs }],
    });
  }
  await ensure(store, UserKind, {
    apiVersion: "iam.kumo.dev/v1",
    kind: "User",
    metadata: { name: "admin" },
    spec: { displayName: "Administrator", groups: [ADMIN_GROUP] },
  });
  const tokenFile = join(dataDir, "admin.token");
  if (existsSync(tokenFile)) {
    const token = (await readFile(tokenFile, "utf8")).trim();
    await ensureToken(store, token);
    return token;
  }
  const token = newBearerToken();
  await ensureToken(store, token);
  await writeFile(tokenFile, token + "\n", { mode: 0o600 });
  return token;
}

/** Reads the agent proxy token from the data dir, making it on first start (agents are given this file). */
export async function agentProxyToken(dataDir: string): Promise<string> {
  const file = join(dataDir, AGENT_PROXY_TOKEN_FILE);
  const existing = (await readFile(file, "utf8").catch(() => "")).trim();
  if (existing) return existing;
  const token = newBearerToken();
  await writeFile(file, token + "\n", { mode: 0o600 });
  return token;
}

async function ensureToken(store: ObjectStore, token: string): Promise<void> {
  const obj: KObject = {
    apiVersion: "iam.kumo.dev/v1",
    kind: "Token",
    metadata: { name: "admin-bootstrap" },
    spec: { user: "admin", description: "written on first start" },
  };
  try {
    await store.get(TokenKind, undefined, "admin-bootstrap");
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await store.create(TokenKind, undefined, obj, SYSTEM);
  }
  await store.guaranteedUpdate(TokenKind, undefined, "admin-bootstrap", { ...SYSTEM, subresource: "status" }, (cur) => ({
    ...cur,
    status: { secretHash: hashToken(token) },
  }));
}
