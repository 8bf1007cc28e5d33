/**
 * In-memory view of users, tokens, roles and bindings, kept current by the watch cache, so that
 * authenticating and authorizing a request costs a hash and a few map lookups, never a store read.
 */
import { createHash } from "node:crypto";
import {
  ADMIN_GROUP, ClusterRoleBindingKind, type KindDefinition, type KObject, type PolicyRule, RoleBindingKind, RoleKind,
  type Subject, TokenKind, type TokenSpec, UserKind,
} from "@kumo/api";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";

/** An authenticated caller. */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** SHA-256 of a bearer token, the only form in which tokens are stored. */
export function hashToken(bearer: string): string {
  return createHash("sha256").update(bearer).digest("hex");
}

const IAM_KINDS = [UserKind, TokenKind, RoleKind, RoleBindingKind, ClusterRoleBindingKind];

/** Users/tokens/roles/bindings by the keys lookups need. */
export class IamCache {
  private readonly objects = new Map<string, Map<string, KObject>>(); // kind → ns/name → obj
  private tokensByHash = new Map<string, KObject>();

  constructor(private readonly store: ObjectStore, private readonly cache: WatchCache) {}

  /** Lists every IAM kind, then follows changes through the watch cache. */
  async start(): Promise<void> {
    let rev = 0;
    for (const k of IAM_KINDS) {
      const list = await this.store.list(k, undefined);
      rev = Math.max(rev, Number(list.metadata.resourceVersion));
      const m = new Map<string, KObject>();
      for (const o of list.items) m.set(key(o), o);
      this.objects.set(k.kind, m);
    }
    this.reindex();
    const backlog = this.cache.subscribe({
      prefix: "/registry/iam.kumo.dev/",
      afterRevision: rev,
      deliver: (events) => this.apply(events),
      close: (why) => { if (why !== "shutdown") void this.start(); }, // re-list after a reset, but not after shutdown
    });
    this.apply(backlog);
  }

  private apply(events: { kind: KindDefinition; type: string; obj: KObject }[]): void {
    for (const e of events) {
      const m = this.objects.get(e.kind.kind);
      if (!m) continue;
      if (e.type === "DELETED") m.delete(key(e.obj));
      else m.set(key(e.obj), e.obj);
    }
    if (events.length) this.reindex();
  }

  private reindex(): void {
    const byHash = new Map<string, KObject>();
    for (const t of this.objects.get("Token")?.values() ?? []) {
      const h = (t.status as { secretHash?: string } | undefined)?.secretHash;
      if (h) byHash.set(h, t);
    }
    this.tokensByHash = byHash;
  }

  /** Resolves a bearer token; returns a reason when it is not valid (unknown, expired, revoked, disabled user). */
  authenticate(bearer: string, now = Date.now()): UserInfo | { error: string } {
    const t = this.tokensByHash.get(hashToken(bearer));
    if (!t) return { error: "invalid bearer token" };
    const spec = t.spec as TokenSpec;
    if (spec.revoked) return { error: `token "${t.metadata.name}" has been revoked` };
    if (spec.expiresAt && Date.parse(spec.expiresAt) <= now) return { error: `token "${t.metadata.name}" expired at ${spec.expiresAt}` };
    const u = this.objects.get("User")?.get(spec.user);
    if (!u) return { error: `token "${t.metadata.name}" belongs to unknown user "${spec.user}"` };
    const us = (u.spec ?? {}) as { groups?: string[]; disabled?: boolean };
    if (us.disabled) return { error: `user "${spec.user}" is disabled` };
    return { name: spec.user, groups: us.groups ?? [] };
  }

  /** True when `user` may do `verb` on `resource` (plural[/sub]) of `group` in `namespace` (undefined: cluster scope). */
  authorize(user: UserInfo, verb: string, group: string, resource: string, namespace: string | undefined, name?: string): boolean {
    if (user.groups.includes(ADMIN_GROUP)) return true;
    const matches = (s: Subject) => (s.kind === "User" && s.name === user.name) || (s.kind === "Group" && user.groups.includes(s.name));
    const roles = this.objects.get("Role")!;
    const allowedBy = (b: KObject) => {
      if (!(b.subjects as Subject[]).some(matches)) return false;
      const role = roles.get((b.roleRef as { name: string }).name);
      return ((role?.rules as PolicyRule[] | undefined) ?? []).some((r) => ruleAllows(r, verb, group, resource));
    };
    for (const b of this.objects.get("ClusterRoleBinding")!.values()) if (allowedBy(b)) return true;
    if (namespace === undefined) {
      // Reading one's own project object is implied by any binding in it.
      if (resource === "namespaces" && name && (verb === "get" || verb === "watch")) {
        return [...this.objects.get("RoleBinding")!.values()].some((b) => b.metadata.namespace === name && (b.subjects as Subject[]).some(matches));
      }
      return false;
    }
    for (const b of this.objects.get("RoleBinding")!.values()) if (b.metadata.namespace === namespace && allowedBy(b)) return true;
    return false;
  }

  /** Counts for /debug/state (never secrets). */
  snapshot() {
    const out: Record<string, number> = {};
    for (const [k, m] of this.objects) out[k] = m.size;
    return out;
  }
}

function key(o: KObject): string {
  return o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name!;
}

function ruleAllows(r: PolicyRule, verb: string, group: string, resource: string): boolean {
  const groups = r.apiGroups ?? ["*"];
  return (groups.includes("*") || groups.includes(group)) && (r.resources.includes("*") || r.resources.includes(resource)) && (r.verbs.includes("*") || r.verbs.includes(verb));
}
