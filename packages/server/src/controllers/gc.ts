/**
 * Garbage collector: when an owner is deleted, its dependents (objects whose ownerReferences name the owner's
 * uid) are deleted too; when it was deleted with propagationPolicy=Orphan they are detached instead. It
 * follows deletions itself, so a delete through any path (the API, a controller, a namespace teardown) is
 * seen. The HTTP layer only records an Orphan request, as Kubernetes does, as the `orphan` finalizer on the
 * owner: the request then survives a restart, and the owner goes only after its dependents are detached.
 * A periodic sweep catches owners deleted while the server was down.
 *
 * Keys: `dependent:<storage key>` checks one object's owners and deletes or detaches it; `orphan:<storage
 * key>` detaches every dependent of a terminating owner that holds the orphan finalizer, then removes it;
 * `sweep` queues every dependent whose owner the informer does not know.
 */
import {
  type KindDefinition,
  type KindRegistry,
  type KObject,
  type OwnerReference,
  ORPHAN_FINALIZER,
  isNotFound,
  parseApiVersion,
} from "@kumo/api";
import { Controller, type Enqueue, periodicSource } from "@kumo/runtime";
import type { Logger } from "pino";
import { type Change, LocalInformer } from "../informers/local-informer.js";
import { kindPrefix, objectKey } from "../registry/codec.js";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";

// The collector removes owner references and finalizers other managers wrote: that is its job, so it always forces.
const GC = { user: "system:garbage-collector", manager: "kumo-garbage-collector", force: true };
const SWEEP = "sweep";

/** An object named by its storage key. */
interface Ref {
  kind: KindDefinition;
  namespace: string | undefined;
  name: string;
}

/** Deletes or orphans dependents of deleted owners. */
export class GarbageCollector {
  readonly loop: Controller;
  private readonly informer: LocalInformer;
  /** uid → storage key of every object the informer holds. */
  private readonly byUid = new Map<string, string>();
  /** owner uid → storage keys of its dependents; and a dependent's owner uids, to update the first. */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly ownersOf = new Map<string, string[]>();
  deletedTotal = 0;
  orphanedTotal = 0;
  lastSweep?: string;

  constructor(
    private readonly store: ObjectStore,
    private readonly kinds: KindRegistry,
    cache: WatchCache,
    private readonly log: Logger,
    sweepMs = 60_000,
  ) {
    // Events are many and own nothing.
    const followed = kinds.all().filter((k) => k.kind !== "Event");
    this.informer = new LocalInformer("objects", store, cache, followed, (c, enqueue) => this.onChange(c, enqueue));
    this.loop = new Controller({
      name: "gc",
      log,
      workers: 4,
      sources: [this.informer, periodicSource("sweep", sweepMs, SWEEP)],
      reconciler: (_ctx, key) => this.reconcile(key),
      debug: () => ({
        deletedTotal: this.deletedTotal,
        orphanedTotal: this.orphanedTotal,
        lastSweep: this.lastSweep,
        owners: this.dependents.size,
      }),
    });
  }

  private onChange({ kind, type, obj, prev }: Change, enqueue: Enqueue): void {
    const key = objectKey(kind, obj.metadata.namespace, obj.metadata.name!);
    // A re-created object replaced an incarnation whose delete we did not see: that one is gone.
    if (prev && prev.metadata.uid !== obj.metadata.uid) this.gone(prev.metadata.uid!, key, enqueue);
    if (type === "DELETED") {
      this.gone(obj.metadata.uid!, key, enqueue);
      this.index(key, []);
      return;
    }
    this.byUid.set(obj.metadata.uid!, key);
    this.index(
      key,
      (obj.metadata.ownerReferences ?? []).map((r) => r.uid),
    );
    if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).includes(ORPHAN_FINALIZER)) enqueue(`orphan:${key}`);
  }

  private gone(uid: string, key: string, enqueue: Enqueue): void {
    if (this.byUid.get(uid) === key) this.byUid.delete(uid);
    for (const d of this.dependents.get(uid) ?? []) enqueue(`dependent:${d}`);
  }

  private index(key: string, owners: string[]): void {
    for (const o of this.ownersOf.get(key) ?? []) {
      const s = this.dependents.get(o);
      s?.delete(key);
      if (s?.size === 0) this.dependents.delete(o);
    }
    if (!owners.length) {
      this.ownersOf.delete(key);
      return;
    }
    this.ownersOf.set(key, owners);
    for (const o of owners) {
      let s = this.dependents.get(o);
      if (!s) this.dependents.set(o, (s = new Set()));
      s.add(key);
    }
  }

  /** One key (see the file comment). */
  async reconcile(key: string): Promise<void> {
    if (key === SWEEP) return this.sweep();
    const i = key.indexOf(":");
    const ref = this.parse(key.slice(i + 1));
    if (!ref) return; // a kind no longer served
    if (key.slice(0, i) === "orphan") await this.orphanDependents(ref);
    else await this.checkOwners(ref);
  }

  private parse(storageKey: string): Ref | undefined {
    const kind = this.kinds.all().find((k) => storageKey.startsWith(kindPrefix(k)));
    if (!kind) return undefined;
    const rest = storageKey.slice(kindPrefix(kind).length);
    if (!kind.namespaced) return { kind, namespace: undefined, name: rest };
    const slash = rest.indexOf("/");
    return { kind, namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }

  private async read(r: Ref): Promise<KObject | undefined> {
    try {
      return await this.store.get(r.kind, r.namespace, r.name);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  /** The owner `r` names, read fresh: by the uid the informer knows, else by the reference's kind and name. */
  private async findOwner(dep: KObject, r: OwnerReference): Promise<KObject | undefined> {
    const candidates: Ref[] = [];
    const cached = this.byUid.get(r.uid);
    const byCache = cached ? this.parse(cached) : undefined;
    if (byCache) candidates.push(byCache);
    const kind = this.kinds.byKind(parseApiVersion(r.apiVersion).group, r.kind);
    if (kind) candidates.push({ kind, namespace: kind.namespaced ? dep.metadata.namespace : undefined, name: r.name });
    for (const c of candidates) {
      const o = await this.read(c);
      if (o?.metadata.uid === r.uid) return o;
    }
    return undefined;
  }

  /** Deletes a dependent whose owners are all gone; detaches it from gone and orphaning owners otherwise. */
  private async checkOwners(ref: Ref): Promise<void> {
    const dep = await this.read(ref);
    const refs = dep?.metadata.ownerReferences ?? [];
    if (!dep || !refs.length) return;
    const owners = await Promise.all(refs.map((r) => this.findOwner(dep, r)));
    const orphaning = (o?: KObject) => !!o?.metadata.deletionTimestamp && (o.metadata.finalizers ?? []).includes(ORPHAN_FINALIZER);
    const detach = refs.filter((_, i) => !owners[i] || orphaning(owners[i]));
    if (!detach.length) return;
    if (detach.length === refs.length && !owners.some(orphaning)) {
      try {
        await this.store.delete(ref.kind, ref.namespace, ref.name, GC, { uid: dep.metadata.uid });
      } catch (e) {
        if (isNotFound(e)) return;
        throw e;
      }
      this.deletedTotal++;
      const owners = refs.map((r) => r.uid);
      this.log.info({ kind: ref.kind.kind, namespace: ref.namespace, name: ref.name, owners }, "garbage collected dependent");
      return;
    }
    if (
      await this.detach(
        ref,
        dep.metadata.uid!,
        detach.map((r) => r.uid),
      )
    )
      this.orphanedTotal++;
  }

  /** Detaches every dependent of a terminating owner that asked for it (read from the store: a dependent the
   *  informer has not seen yet would otherwise be deleted later as the dependent of a gone owner), then lets it go. */
  private async orphanDependents(ref: Ref): Promise<void> {
    const owner = await this.read(ref);
    if (!owner?.metadata.deletionTimestamp || !(owner.metadata.finalizers ?? []).includes(ORPHAN_FINALIZER)) return;
    const uid = owner.metadata.uid!;
    for (const kind of this.kinds.all()) {
      if (kind.kind === "Event") continue;
      for (const o of (await this.store.list(kind, undefined)).items) {
        if (!o.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        const dep = { kind, namespace: o.metadata.namespace, name: o.metadata.name! };
        if (await this.detach(dep, o.metadata.uid!, [uid])) this.orphanedTotal++;
      }
    }
    await this.store
      .guaranteedUpdate(ref.kind, ref.namespace, ref.name, GC, (cur) => {
        if (cur.metadata.uid !== uid) return cur;
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== ORPHAN_FINALIZER);
        return cur;
      })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
  }

  /** Removes references to `ownerUids` from one object; false when it is gone or was re-created. */
  private async detach(r: Ref, uid: string, ownerUids: string[]): Promise<boolean> {
    let done = false;
    await this.store
      .guaranteedUpdate(r.kind, r.namespace, r.name, GC, (cur) => {
        done = cur.metadata.uid === uid && !!cur.metadata.ownerReferences?.some((o) => ownerUids.includes(o.uid));
        if (!done) return cur;
        cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter((o) => !ownerUids.includes(o.uid));
        if (!cur.metadata.ownerReferences.length) delete cur.metadata.ownerReferences;
        return cur;
      })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    return done;
  }

  /** Queues the dependents of owners the informer does not know (deleted while the server was down). */
  private async sweep(): Promise<void> {
    for (const [owner, deps] of this.dependents) {
      if (this.byUid.has(owner)) continue;
      for (const d of deps) this.loop.add(`dependent:${d}`);
    }
    this.lastSweep = new Date().toISOString();
  }
}
