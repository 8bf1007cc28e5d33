/**
 * In-memory view of users, tokens, roles and bindings, kept current by the watch cache, so that
 * authenticating and authorizing a request costs a hash and a few map lookups, never a store read.
 */
import { createHash } from "node:crypto";
import {
  ADMIN_GROUP,
  ClusterRoleBindingKind,
  type KObject,
  type PolicyRule,
  RoleBindingKind,
  RoleKind,
  type Subject,
  TokenKind,
  UserKind,
} from "@kumo/api";
import type { Component } from "@kumo/runtime";
import { type Change, LocalInformer, keyOf } from "../informers/local-informer.js";
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

/** Users/tokens/roles/bindings by the keys lookups need; a component (started before the API serves). */
export class IamCache implements Component {
  readonly name = "iam";
  private readonly informer: LocalInformer;
  /** secretHash → informer key of the Token. */
  private readonly tokensByHash = new Map<string, string>();

  constructor(store: ObjectStore, cache: WatchCache) {
    this.informer = new LocalInformer("iam", store, cache, IAM_KINDS, (c) => this.onChange(c));
  }

  /** Lists every IAM kind, then follows changes through the watch cache (re-listing when it must). */
  async start(signal: AbortSignal): Promise<void> {
    await this.informer.start(signal);
  }

  /** Waits for a re-list still running when the signal aborted. */
  async stop(): Promise<void> {
    await this.informer.stop();
  }

  private onChange({ kind, type, obj, prev }: Change): void {
    if (kind !== TokenKind) return;
    const key = keyOf(obj);
    const before = secretHash(prev);
    if (before && this.tokensByHash.get(before) === key) this.tokensByHash.delete(before);
    const now = type === "DELETED" ? undefined : secretHash(obj);
    if (now) this.tokensByHash.set(now, key);
  }

  /** Resolves a bearer token; returns a reason when it is not valid (unknown, expired, revoked, disabled user). */
  authenticate(bearer: string, now = Date.now()): UserInfo | { error: string } {
    const key = this.tokensByHash.get(hashToken(bearer));
    const t = key === undefined ? undefined : this.informer.get(TokenKind, key);
    if (!t) return { error: "invalid bearer token" };
    const spec = t.spec!;
    if (spec.revoked) return { error: `token "${t.metadata.name}" has been revoked` };
    if (spec.expiresAt && Date.parse(spec.expiresAt) <= now) return { error: `token "${t.metadata.name}" expired at ${spec.expiresAt}` };
    const u = this.informer.get(UserKind, `/${spec.user}`);
    if (!u) return { error: `token "${t.metadata.name}" belongs to unknown user "${spec.user}"` };
    const us = u.spec ?? {};
    if (us.disabled) return { error: `user "${spec.user}" is disabled` };
    return { name: spec.user, groups: us.groups ?? [] };
  }

  /** True when `user` may do `verb` on `resource` (plural[/sub]) of `group` in `namespace` (undefined: cluster scope). */
  authorize(user: UserInfo, verb: string, group: string, resource: string, namespace: string | undefined, name?: string): boolean {
    if (user.groups.includes(ADMIN_GROUP)) return true;
    const matches = (s: Subject) => (s.kind === "User" && s.name === user.name) || (s.kind === "Group" && user.groups.includes(s.name));
    const allowedBy = (b: KObject) => {
      if (!(b.subjects as Subject[]).some(matches)) return false;
      const role = this.informer.get(RoleKind, `/${(b.roleRef as { name: string }).name}`);
      return (role?.rules ?? []).some((r) => ruleAllows(r, verb, group, resource));
    };
    for (const b of this.informer.list(ClusterRoleBindingKind)) if (allowedBy(b)) return true;
    if (namespace === undefined) {
      // Reading one's own project object is implied by any binding in it.
      if (resource === "namespaces" && name && (verb === "get" || verb === "watch")) {
        const inProject = (b: KObject) => b.metadata.namespace === name && (b.subjects as Subject[]).some(matches);
        return [...this.informer.list(RoleBindingKind)].some(inProject);
      }
      return false;
    }
    for (const b of this.informer.list(RoleBindingKind)) if (b.metadata.namespace === namespace && allowedBy(b)) return true;
    return false;
  }

  /** Counts for /debug/state (never secrets). */
  snapshot() {
    return this.informer.snapshot().objects;
  }
}

function secretHash(t: KObject | undefined): string | undefined {
  return (t?.status as { secretHash?: string } | undefined)?.secretHash;
}

function ruleAllows(r: PolicyRule, verb: string, group: string, resource: string): boolean {
  const groups = r.apiGroups ?? ["*"];
  return (
    (groups.includes("*") || groups.includes(group)) &&
    (r.resources.includes("*") || r.resources.includes(resource)) &&
    (r.verbs.includes("*") || r.verbs.includes(verb))
  );
}
