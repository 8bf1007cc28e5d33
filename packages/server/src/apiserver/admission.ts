/**
 * Kind-specific admission that the generic store cannot know: tokens get a generated secret (shown once),
 * namespaces get the finalizer that empties them before they go, system projects cannot be deleted.
 */
import { type KindDefinition, type KObject, NamespaceKind, TokenKind, forbidden } from "@kumo/api";
import { hashToken } from "../auth/iam-cache.js";
import { newBearerToken } from "../auth/bootstrap.js";
import type { ObjectStore, WriteContext } from "../registry/store.js";

/** Finalizer the namespace controller removes once a deleted namespace is empty. */
export const NAMESPACE_FINALIZER = "kumo.dev/namespace-contents";
/** Projects that always exist. */
export const SYSTEM_NAMESPACES = ["default", "kumo-system"];

/** Create/delete hooks around the store. */
export class Admission {
  constructor(private readonly store: ObjectStore) {}

  /** Creates through the store, applying kind-specific rules. */
  async create(kind: KindDefinition, namespace: string | undefined, obj: KObject, ctx: WriteContext, operation: "Update" | "Apply" = "Update"): Promise<KObject> {
    if (kind === NamespaceKind) {
      obj = structuredClone(obj);
      obj.metadata = obj.metadata ?? {};
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), NAMESPACE_FINALIZER])];
    }
    const created = await this.store.create(kind, namespace, obj, ctx, operation);
    if (kind === TokenKind && !ctx.dryRun) {
      const secret = newBearerToken();
      const withHash = await this.store.guaranteedUpdate(TokenKind, undefined, created.metadata.name!, { ...ctx, subresource: "status" }, (cur) => ({ ...cur, status: { secretHash: hashToken(secret) } }));
      // The secret is returned once and never stored.
      return { ...withHash, status: { ...(withHash.status as object), bearerToken: secret } };
    }
    return created;
  }

  /** Refuses deletes that would break the cloud. */
  async beforeDelete(kind: KindDefinition, _namespace: string | undefined, name: string): Promise<void> {
    if (kind === NamespaceKind && SYSTEM_NAMESPACES.includes(name)) throw forbidden(`namespace "${name}" is a system project and cannot be deleted`);
  }
}
