/**
 * Admission: the kind-specific steps around a create or a delete that the generic store cannot know. The
 * HTTP layer knows only this registry; the parts of the server that own a kind's rules (the namespace
 * controller, IPAM, token issuing) register their hooks here when the server is wired (server.ts), so the
 * HTTP layer never imports a controller.
 */
import type { KindDefinition, KObject, ObjectOf } from "@kumo/api";
import type { ObjectStore, WriteContext } from "../registry/store.js";

/** Undoes a hook's side effect (an address claimed) when the create fails after the hook ran. */
export type Rollback = () => Promise<void>;

/** A create as hooks see it: `obj` is the object about to be stored (hooks may change it). */
export interface CreateRequest {
  kind: KindDefinition;
  namespace: string | undefined;
  obj: KObject;
  /** The uid the object will be stored with (hooks that claim resources record it as the owner). */
  uid: string;
  ctx: WriteContext;
}

/** One owner's rules for some kinds. Hooks run in registration order. */
export interface AdmissionHook {
  /** Shown in errors and /debug/state. */
  readonly name: string;
  /** Kinds the hook applies to. */
  readonly kinds: readonly KindDefinition[];
  /** Before the store create: may change `req.obj`, may claim resources and return their rollback; throws to refuse. */
  mutate?(req: CreateRequest): Promise<Rollback | void>;
  /** After the create: may return the object to answer with instead (a secret shown once). */
  created?(req: CreateRequest, created: KObject): Promise<KObject | void>;
  /** Before a delete: throws to refuse it. */
  validateDelete?(kind: KindDefinition, namespace: string | undefined, name: string): Promise<void>;
}

/** The registry of admission hooks, and creates/deletes through them. */
export class Admission {
  private readonly hooks: AdmissionHook[] = [];

  constructor(private readonly store: ObjectStore) {}

  /** Adds a hook (after those registered before it). */
  register(hook: AdmissionHook): void {
    this.hooks.push(hook);
  }

  private for(kind: KindDefinition): AdmissionHook[] {
    return this.hooks.filter((h) => h.kinds.includes(kind));
  }

  /** Creates through the store, running the kind's hooks; a failed create rolls back what they claimed. */
  create<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(
    kind: K,
    namespace: string | undefined,
    input: T,
    ctx: WriteContext,
    operation?: "Update" | "Apply",
  ): Promise<ObjectOf<K>>;
  create(
    kind: KindDefinition,
    namespace: string | undefined,
    input: KObject,
    ctx: WriteContext,
    operation?: "Update" | "Apply",
  ): Promise<KObject>;
  async create(
    kind: KindDefinition,
    namespace: string | undefined,
    input: KObject,
    ctx: WriteContext,
    operation: "Update" | "Apply" = "Update",
  ): Promise<KObject> {
    const obj = structuredClone(input);
    obj.metadata = obj.metadata ?? {};
    const req: CreateRequest = { kind, namespace, obj, uid: crypto.randomUUID(), ctx };
    const hooks = this.for(kind);
    const rollbacks: Rollback[] = [];
    const rollback = async () => {
      for (const r of rollbacks.reverse()) await r().catch(() => undefined);
    };
    let created: KObject;
    try {
      for (const h of hooks) {
        const r = await h.mutate?.(req);
        if (r) rollbacks.push(r);
      }
      created = await this.store.create(kind, namespace, req.obj, ctx, operation, { uid: req.uid });
    } catch (e) {
      await rollback();
      throw e;
    }
    for (const h of hooks) created = (await h.created?.(req, created)) ?? created;
    return created;
  }

  /** Runs the kind's delete checks; throws when a hook refuses the delete. */
  async beforeDelete(kind: KindDefinition, namespace: string | undefined, name: string): Promise<void> {
    for (const h of this.for(kind)) await h.validateDelete?.(kind, namespace, name);
  }

  /** Hook names by kind, for /debug/state. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const h of this.hooks) for (const k of h.kinds) (out[k.kind] ??= []).push(h.name);
    return out;
  }
}
