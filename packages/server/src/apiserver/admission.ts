/**
 * Kind-specific admission that the generic store cannot know: tokens get a generated secret (shown once),
 * namespaces get the finalizer that empties them before they go, system projects cannot be deleted,
 * networks/subnets/ports get their VNI, gateway, MAC and IP from the allocator.
 */
import { type KindDefinition, type KObject, NamespaceKind, NetworkKind, PortKind, type PortSpec, SubnetKind, type SubnetSpec, TokenKind, conflict, forbidden } from "@kumo/api";
import { hashToken } from "../auth/iam-cache.js";
import { newBearerToken } from "../auth/bootstrap.js";
import type { ObjectStore, WriteContext } from "../registry/store.js";
import type { NetworkAdmission, Rollback } from "../controllers/ipam/network-admission.js";

/** Finalizer the namespace controller removes once a deleted namespace is empty. */
export const NAMESPACE_FINALIZER = "kumo.dev/namespace-contents";
/** Projects that always exist. */
export const SYSTEM_NAMESPACES = ["default", "kumo-system"];

/** Create/delete hooks around the store. */
export class Admission {
  constructor(private readonly store: ObjectStore, private readonly network?: NetworkAdmission) {}

  /** Creates through the store, applying kind-specific rules. */
  async create(kind: KindDefinition, namespace: string | undefined, input: KObject, ctx: WriteContext, operation: "Update" | "Apply" = "Update"): Promise<KObject> {
    let obj = structuredClone(input);
    obj.metadata = obj.metadata ?? {};
    if (kind === NamespaceKind) obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), NAMESPACE_FINALIZER])];
    const uid = crypto.randomUUID();
    let rollback: Rollback | undefined;
    if (this.network && !ctx.dryRun && [NetworkKind, SubnetKind, PortKind].includes(kind)) {
      const ns = namespace ?? obj.metadata.namespace ?? "default";
      if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = obj.metadata.generateName + uid.slice(0, 5);
      obj.metadata.uid = uid;
      rollback = kind === NetworkKind ? await this.network.network(ns, obj) : kind === SubnetKind ? await this.network.subnet(ns, obj) : await this.network.port(ns, obj);
      delete obj.metadata.uid;
    }
    let created: KObject;
    try {
      created = await this.store.create(kind, namespace, obj, ctx, operation, { uid });
    } catch (e) {
      await rollback?.();
      throw e;
    }
    if (kind === TokenKind && !ctx.dryRun) {
      const secret = newBearerToken();
      const withHash = await this.store.guaranteedUpdate(TokenKind, undefined, created.metadata.name!, { ...ctx, subresource: "status" }, (cur) => ({ ...cur, status: { secretHash: hashToken(secret) } }));
      // The secret is returned once and never stored.
      return { ...withHash, status: { ...(withHash.status as object), bearerToken: secret } };
    }
    return created;
  }

  /** Refuses deletes that would break the cloud or strand objects. */
  async beforeDelete(kind: KindDefinition, namespace: string | undefined, name: string): Promise<void> {
    if (kind === NamespaceKind && SYSTEM_NAMESPACES.includes(name)) throw forbidden(`namespace "${name}" is a system project and cannot be deleted`);
    if (kind === SubnetKind || kind === NetworkKind) {
      const network = kind === NetworkKind ? name : ((await this.store.get(SubnetKind, namespace, name)).spec as SubnetSpec).network;
      const users = (await this.store.list(PortKind, namespace)).items.filter((p) => (p.spec as PortSpec).network === network && (p.spec as PortSpec).deviceOwner !== "network:dhcp");
      if (users.length) {
        throw conflict({ group: kind.group, resource: kind.plural, name }, `${kind.kind.toLowerCase()} is in use by ${users.length} port(s): ${users.slice(0, 5).map((p) => p.metadata.name).join(", ")}${users.length > 5 ? ", ..." : ""}; delete them first`);
      }
    }
  }
}
