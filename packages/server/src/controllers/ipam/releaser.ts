/**
 * Frees allocations when their owners go: immediately on the owner's DELETED watch event, and by a
 * periodic sweep for anything missed (server restarts, creates that failed after claiming).
 */
import { type KObject, NetworkKind, PortKind, type PortSpec, SubnetKind, type SubnetSpec, type NetworkSpec } from "@kumo/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../../registry/store.js";
import type { CachedEvent, WatchCache } from "../../registry/watch-cache.js";
import type { Allocator } from "./allocator.js";
import { pools } from "./network-admission.js";

/** A claim younger than this is never swept: its owner may still be being created. */
const SWEEP_GRACE_MS = 60_000;

/** Releases allocations of deleted owners. */
export class AllocationReleaser {
  private timer?: NodeJS.Timeout;
  sweptTotal = 0;

  constructor(private readonly store: ObjectStore, private readonly cache: WatchCache, private readonly alloc: Allocator, private readonly log: Logger) {}

  /** Subscribes to deletions and starts the sweep. */
  async start(sweepMs = 60_000): Promise<void> {
    const rev = await this.store.backend.currentRevision();
    const backlog = this.cache.subscribe({ prefix: "/registry/network.kumo.dev/", afterRevision: rev, deliver: (evs) => void this.onEvents(evs), close: (why) => { if (why !== "shutdown") void this.start(sweepMs); } });
    void this.onEvents(backlog);
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.sweep().catch((e) => this.log.warn({ err: String(e) }, "allocation sweep failed")), sweepMs);
    this.timer.unref();
  }

  /** Stops the sweep. */
  stop(): void {
    clearInterval(this.timer);
  }

  private async onEvents(events: CachedEvent[]): Promise<void> {
    for (const e of events) {
      if (e.type !== "DELETED") continue;
      try {
        await this.releaseFor(e.obj);
      } catch (err) {
        this.log.warn({ err: String(err), name: e.obj.metadata.name }, "release failed; the sweep will retry");
      }
    }
  }

  private async releaseFor(o: KObject): Promise<void> {
    const uid = o.metadata.uid!;
    const ns = o.metadata.namespace!;
    if (o.kind === PortKind.kind) {
      const spec = o.spec as PortSpec;
      if (spec.macAddress) await this.alloc.release(pools.mac, spec.macAddress, uid);
      for (const f of spec.fixedIPs ?? []) await this.alloc.release(pools.ip(ns, spec.network), f.ipAddress, uid);
    } else if (o.kind === NetworkKind.kind) {
      const vni = (o.spec as NetworkSpec).vni;
      if (vni !== undefined) await this.alloc.release(pools.vni, String(vni), uid);
    } else if (o.kind === SubnetKind.kind) {
      const spec = o.spec as SubnetSpec;
      if (spec.gateway) await this.alloc.release(pools.ip(ns, spec.network), spec.gateway, uid);
    }
  }

  /** Drops claims whose owner uid no longer exists. */
  async sweep(now = Date.now()): Promise<number> {
    const uids = new Set<string>();
    for (const k of [NetworkKind, SubnetKind, PortKind]) for (const o of (await this.store.list(k, undefined)).items) uids.add(o.metadata.uid!);
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
