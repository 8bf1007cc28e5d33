/**
 * The object layer: typed Kubernetes-style objects over the etcd-shaped Backend, written once for every
 * backend. It owns the read–prepare–compare-and-swap loop; what a write may do is decided by the steps in
 * write-pipeline.ts, and what it did is handed on as a WriteRecord (history, metrics, events).
 */
import {
  type ErrorTarget,
  type KindDefinition,
  type KindRegistry,
  type KObject,
  type KList,
  type ObjectOf,
  alreadyExists,
  forbidden,
  notFound,
  staleConflict,
  typedConflict,
  NamespaceKind,
} from "@kumo/api";
import { KeyedLock } from "@kumo/runtime";
import type { Backend, KeyValue } from "../storage/backend.js";
import { decode, encode, objectKey } from "./codec.js";
import { diffLeaves } from "./field-paths.js";
import { hasFinalizers, markDeleting, readyToDelete } from "./finalizers.js";
import { type ListQuery, listObjects } from "./list.js";
import { targetOf } from "./object-meta.js";
import { type Preconditions, checkPreconditions } from "./preconditions.js";
import { strategyFor } from "./strategy.js";
import { prepareCreate, prepareUpdate } from "./write-pipeline.js";
import type { WriteContext, WriteListener, WriteRecord, WriteRecorder } from "./write-record.js";

export type { ListQuery } from "./list.js";
export type { Preconditions } from "./preconditions.js";
export type { WriteContext, WriteListener, WriteRecord, WriteRecorder } from "./write-record.js";
export { nowSeconds } from "./object-meta.js";

/** Reported when a write is refused as stale or for taking other managers' fields (metrics label it by manager). */
export type ConflictListener = (kind: KindDefinition, manager: string, reason: "stale" | "ownership") => void;

/** Options of guaranteedUpdate; `O` is the object type of the kind written. */
export interface GuaranteedUpdateOptions<O extends KObject = KObject> {
  /** Precondition: the resourceVersion the writer read (a mismatch is a 409, never retried). */
  expectRV?: string;
  operation?: "Update" | "Apply";
  applyConfig?: Record<string, unknown>;
  createIfMissing?: () => Promise<O>;
}

const MAX_RETRIES = 64;
/** Returned by one attempt that lost the compare-and-swap race: read again and retry. */
const LOST = Symbol("lost");

/**
 * Typed objects over a Backend. Given a kind from @kumo/api, reads and writes are typed by it (`get(InstanceKind, ...)`
 * resolves to an `Instance`); a plain `KindDefinition` gives `KObject`s. As in KumoClient, writes infer `T` from the
 * object rather than taking `ObjectOf<K>`, so a typed object missing optional fields does not fall to the plain overload.
 */
export class ObjectStore {
  private readonly lock = new KeyedLock();
  onWrite?: WriteListener;
  onConflict?: ConflictListener;

  /** `recorder` (the write history) gets every write before it commits (to add its entry) and after. */
  constructor(
    readonly backend: Backend,
    readonly kinds: KindRegistry,
    private readonly recorder: WriteRecorder,
  ) {}

  /** Reads one object; 404 when absent. */
  get<K extends KindDefinition>(kind: K, namespace: string | undefined, name: string): Promise<ObjectOf<K>>;
  async get(kind: KindDefinition, namespace: string | undefined, name: string): Promise<KObject> {
    const kv = await this.backend.get(objectKey(kind, namespace, name));
    if (!kv) throw notFound(targetOf(kind, name));
    return decode(kind, kv);
  }

  /** Lists objects with selectors and pagination (continue token = next start key). */
  list<K extends KindDefinition>(kind: K, namespace: string | undefined, q?: ListQuery): Promise<KList<ObjectOf<K>>>;
  list(kind: KindDefinition, namespace: string | undefined, q: ListQuery = {}): Promise<KList> {
    return listObjects(this.backend, kind, namespace, q);
  }

  /** Creates an object (POST, or server-side apply of an absent object). */
  create<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(
    kind: K,
    namespace: string | undefined,
    input: T,
    ctx: WriteContext,
    operation?: "Update" | "Apply",
    opts?: { uid?: string },
  ): Promise<ObjectOf<K>>;
  create(
    kind: KindDefinition,
    namespace: string | undefined,
    input: KObject,
    ctx: WriteContext,
    operation?: "Update" | "Apply",
    opts?: { uid?: string },
  ): Promise<KObject>;
  async create(
    kind: KindDefinition,
    namespace: string | undefined,
    input: KObject,
    ctx: WriteContext,
    operation: "Update" | "Apply" = "Update",
    opts: { uid?: string } = {},
  ): Promise<KObject> {
    const req = { kind, namespace, input, ctx, operation, uid: opts.uid };
    const { obj, changes } = await prepareCreate(req, (ns) => this.checkNamespaceOpen(ns));
    const md = obj.metadata;
    if (ctx.dryRun) return { ...obj, metadata: { ...md, resourceVersion: "0" } };
    const key = objectKey(kind, md.namespace, md.name!);
    const w: WriteRecord = { kind, obj, ctx, operation: "Create", changes, overridden: [] };
    const value = encode(obj);
    const revision = await this.put(key, w, value);
    if (revision === LOST) throw alreadyExists(targetOf(kind, md.name));
    const created = decode(kind, { key, value, createRevision: revision, modRevision: revision });
    this.committed({ ...w, obj: created });
    return created;
  }

  /**
   * The one read–mutate–conditional-write loop. `mutate` gets the latest object and returns the desired
   * next version (or throws). Retries on lost compare-and-swap unless `expectRV` pins a version (then 409).
   */
  guaranteedUpdate<K extends KindDefinition>(
    kind: K,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    mutate: (cur: ObjectOf<K>) => ObjectOf<K> | Promise<ObjectOf<K>>,
    opts?: GuaranteedUpdateOptions<ObjectOf<K>>,
  ): Promise<ObjectOf<K>>;
  guaranteedUpdate(
    kind: KindDefinition,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    mutate: (cur: KObject) => KObject | Promise<KObject>,
    opts?: GuaranteedUpdateOptions,
  ): Promise<KObject>;
  async guaranteedUpdate(
    kind: KindDefinition,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    mutate: (cur: KObject) => KObject | Promise<KObject>,
    opts: GuaranteedUpdateOptions = {},
  ): Promise<KObject> {
    const key = objectKey(kind, namespace, name);
    const t = targetOf(kind, name);
    const operation = opts.operation ?? "Update";
    const stale = () => this.onConflict?.(kind, ctx.manager, "stale");
    const pre: Preconditions = { resourceVersion: opts.expectRV };
    return this.retried(key, `gave up after ${MAX_RETRIES} concurrent modifications; try again`, t, async (kv) => {
      if (!kv) {
        if (opts.createIfMissing) return opts.createIfMissing();
        throw notFound(t);
      }
      const cur = decode(kind, kv);
      checkPreconditions(pre, cur, t, "update", stale);
      const next = await mutate(structuredClone(cur));
      const onOwnershipConflict = (manager: string) => this.onConflict?.(kind, manager, "ownership");
      const prepared = prepareUpdate({ kind, cur, next, ctx, operation, applyConfig: opts.applyConfig, onOwnershipConflict });
      if (!prepared) return cur; // no-op write: nothing stored, nothing recorded
      const { obj, changes, overridden } = prepared;
      if (ctx.dryRun) return obj;
      if (readyToDelete(obj)) {
        // The last finalizer is gone: this write is the delete (recorded with everything it removes).
        const w: WriteRecord = { kind, obj, ctx, operation: "Delete", changes: diffLeaves(cur, undefined), overridden };
        const revision = await this.remove(key, w, kv.modRevision);
        if (revision === LOST) return LOST;
        return this.committed({ ...w, obj: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(revision) } } });
      }
      const w: WriteRecord = { kind, obj, ctx, operation, changes, overridden };
      const revision = await this.put(key, w, encode(obj), kv.modRevision);
      if (revision === LOST) {
        if (opts.expectRV === undefined) return LOST;
        stale();
        throw staleConflict(t);
      }
      // `obj` is ours (the pipeline built it from copies): stamp it instead of re-parsing what we just wrote.
      obj.metadata.resourceVersion = String(revision);
      return this.committed(w);
    });
  }

  /** Deletes an object; with finalizers it only gets a deletionTimestamp. Returns the (last) object and whether it is gone. */
  delete<K extends KindDefinition>(
    kind: K,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    pre?: Preconditions,
  ): Promise<{ obj: ObjectOf<K>; gone: boolean }>;
  async delete(
    kind: KindDefinition,
    namespace: string | undefined,
    name: string,
    ctx: WriteContext,
    pre: Preconditions = {},
  ): Promise<{ obj: KObject; gone: boolean }> {
    const key = objectKey(kind, namespace, name);
    const t = targetOf(kind, name);
    // An empty precondition is no precondition (DeleteOptions sent by clients that fill every field).
    const expected: Preconditions = { uid: pre.uid || undefined, resourceVersion: pre.resourceVersion || undefined };
    return this.retried(key, "too many concurrent modifications; try again", t, async (kv) => {
      if (!kv) throw notFound(t);
      const cur = decode(kind, kv);
      checkPreconditions(expected, cur, t, "delete");
      if (hasFinalizers(cur)) {
        if (cur.metadata.deletionTimestamp) return { obj: cur, gone: false };
        const { next, changes } = markDeleting(cur);
        strategyFor(kind).applyDefaults(next);
        if (ctx.dryRun) return { obj: next, gone: false };
        const w: WriteRecord = { kind, obj: next, ctx, operation: "Delete", changes, overridden: [] };
        const value = encode(next);
        const revision = await this.put(key, w, value, kv.modRevision);
        if (revision === LOST) return LOST;
        const stored = decode(kind, { key, value, createRevision: kv.createRevision, modRevision: revision });
        return { obj: this.committed({ ...w, obj: stored }), gone: false };
      }
      if (ctx.dryRun) return { obj: cur, gone: true };
      const w: WriteRecord = { kind, obj: cur, ctx, operation: "Delete", changes: diffLeaves(cur, undefined), overridden: [] };
      const revision = await this.remove(key, w, kv.modRevision);
      if (revision === LOST) return LOST;
      const gone = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(revision) } };
      return { obj: this.committed({ ...w, obj: gone }), gone: true };
    });
  }

  /**
   * Runs `attempt` on the latest value of `key` (under the in-process key lock) until it does not lose the
   * compare-and-swap race; after MAX_RETRIES lost races the writer gets a 409 saying so.
   */
  private retried<T>(
    key: string,
    gaveUp: string,
    t: ErrorTarget,
    attempt: (kv: KeyValue | undefined) => Promise<T | typeof LOST>,
  ): Promise<T> {
    return this.lock.run(key, async () => {
      for (let i = 0; i < MAX_RETRIES; i++) {
        const out = await attempt(await this.backend.get(key));
        if (out !== LOST) return out;
      }
      throw typedConflict(t, "TooManyConflicts", gaveUp);
    });
  }

  /**
   * Stores `value` (the encoded `w.obj`) with the recorder's attachment in the same commit: a create without
   * `modRevision`, else an update of that revision. Returns the write's revision, or LOST.
   */
  private async put(key: string, w: WriteRecord, value: string, modRevision?: number): Promise<number | typeof LOST> {
    const opts = { attach: this.recorder.attachment(w) };
    const res =
      modRevision === undefined ? await this.backend.create(key, value, opts) : await this.backend.update(key, value, modRevision, opts);
    return res.ok ? res.revision : LOST;
  }

  /** Deletes `key` at `modRevision`, recording `w` in the same commit. Returns the delete's revision, or LOST. */
  private async remove(key: string, w: WriteRecord, modRevision: number): Promise<number | typeof LOST> {
    const res = await this.backend.delete(key, modRevision, { attach: this.recorder.attachment(w) });
    return res.ok ? res.revision : LOST;
  }

  /** After a commit: the recorder, then the listeners. Returns the written object. */
  private committed(w: WriteRecord): KObject {
    this.recorder.written(w);
    this.onWrite?.(w);
    return w.obj;
  }

  private async checkNamespaceOpen(ns: string): Promise<void> {
    const kv = await this.backend.get(objectKey(NamespaceKind, undefined, ns));
    if (!kv) throw notFound({ resource: "namespaces", name: ns });
    const obj = decode(NamespaceKind, kv);
    if (obj.metadata.deletionTimestamp) throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`);
  }
}
