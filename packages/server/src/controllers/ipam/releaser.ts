/**
 * Frees allocations when their owners go: a Network's VNI, a Subnet's gateway, a Port's MAC and IP, queued
 * by the owner's deletion (the deleted object is kept until its claims are released, so a failed release is
 * retried with backoff), and a periodic sweep for anything missed (server restarts, creates that failed
 * after claiming).
 */
import { type KObject, NetworkKind, PortKind, SubnetKind } from "@kumo/api";
import { Controller, periodicSource } from "@kumo/runtime";
import type { Logger } from "pino";
import { isObjectOf, LocalInformer, keyOf } from "../../informers/local-informer.js";
import type { ObjectStore } from "../../registry/store.js";
import type { WatchCache } from "../../registry/watch-cache.js";
import type { Allocator } from "./allocator.js";
import { pools } from "./network-admission.js";

/** A claim younger than this is never swept: its owner may still be being created. */
const SWEEP_GRACE_MS = 60_000;
const SWEEP = "sweep";

/** Releases allocations of deleted owners. */
export class AllocationReleaser {
  readonly loop: Controller;
  /** Deleted owners whose claims are not released yet, by key (`Kind:ns/name@uid`). */
  private readonly deleted = new Map<string, KObject>();
  sweptTotal = 0;

  constructor(
    private readonly store: ObjectStore,
    cache: WatchCache,
    private readonly alloc: Allocator,
    log: Logger,
    sweepMs = 60_000,
  ) {
    const informer = new LocalInformer("network-objects", store, cache, [NetworkKind, SubnetKind, PortKind], ({ type, obj }, enqueue) => {
      if (type !== "DELETED") return;
      const key = `${obj.kind}:${keyOf(obj)}@${obj.metadata.uid}`;
      this.deleted.set(key, obj);
      enqueue(key);
    });
    this.loop = new Controller({
      name: "ipam-releaser",
      log,
      workers: 4,
      sources: [informer, periodicSource("sweep", sweepMs, SWEEP)],
      reconciler: (_ctx, key) => this.reconcile(key),
      debug: () => ({
        claimsTotal: alloc.claimsTotal,
        releasesTotal: alloc.releasesTotal,
        exhaustedTotal: alloc.exhaustedTotal,
        sweptTotal: this.sweptTotal,
        releasing: this.deleted.size,
      }),
    });
  }

  /** Releases one deleted owner's claims, or sweeps. */
  async reconcile(key: string): Promise<void> {
    if (key === SWEEP) {
      await this.sweep();
      return;
    }
    const o = this.deleted.get(key);
    if (!o) return;
    await this.releaseFor(o);
    this.deleted.delete(key);
  }

  private async releaseFor(o: KObject): Promise<void> {
    const uid = o.metadata.uid!;
    const ns = o.metadata.namespace!;
    if (isObjectOf(o, PortKind)) {
      const spec = o.spec!;
      if (spec.macAddress) await this.alloc.release(pools.mac, spec.macAddress, uid);
      for (const f of spec.fixedIPs ?? []) await this.alloc.release(pools.ip(ns, spec.network), f.ipAddress, uid);
    } else if (isObjectOf(o, NetworkKind)) {
      const vni = o.spec!.vni;
      if (vni !== undefined) await this.alloc.release(pools.vni, String(vni), uid);
    } else if (isObjectOf(o, SubnetKind)) {
      const spec = o.spec!;
      if (spec.gateway) await this.alloc.release(pools.ip(ns, spec.network), spec.gateway, uid);
    }
  }

  /** Drops claims whose owner uid no longer exists. */
  async sweep(now = Date.now()): Promise<number> {
    const uids = new Set<string>();
    for (const k of [NetworkKind, SubnetKind, PortKind]) {
      for (const o of (await this.store.list(k, undefined)).items) uids.add(o.metadata.uid!);
    }
    let n = 0;
    for (const a of await this.alloc.all()) {
      if (uids.has(a.record.owner.uid) || now - Date.parse(a.record.time) < SWEEP_GRACE_MS) continue;
      await this.alloc.drop(a.key, a.modRevision);
      n++;
    }
    this.sweptTotal += n;
    return n;
  }
}
