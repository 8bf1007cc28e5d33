/**
 * Garbage collector: when an owner is deleted, its dependents (objects whose ownerReferences name the
 * owner's uid) are deleted too, or detached with propagationPolicy=Orphan. A periodic sweep catches
 * owners deleted while the server was down.
 */
import { isNotFound, type KindRegistry, type KObject } from "@kumo/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../registry/store.js";

// The collector removes owner references other managers wrote: that is its job, so it always forces.
const GC = { user: "system:garbage-collector", manager: "kumo-garbage-collector", force: true };

/** Deletes or orphans dependents of deleted owners. */
export class GarbageCollector {
  private readonly pending: { uid: string; orphan: boolean }[] = [];
  private running = false;
  private timer?: NodeJS.Timeout;
  deletedTotal = 0;
  orphanedTotal = 0;
  lastSweep?: string;

  constructor(private readonly store: ObjectStore, private readonly kinds: KindRegistry, private readonly log: Logger) {}

  /** Starts the periodic sweep. */
  start(sweepMs = 60_000): void {
    this.timer = setInterval(() => void this.sweep().catch((e) => this.log.warn({ err: String(e) }, "gc sweep failed")), sweepMs);
    this.timer.unref();
  }

  /** Stops the sweep. */
  stop(): void {
    clearInterval(this.timer);
  }

  /** Queues the dependents of a deleted owner. */
  ownerDeleted(uid: string, orphan: boolean): void {
    this.pending.push({ uid, orphan });
    if (!this.running) void this.drain();
  }

  private async allObjects(): Promise<KObject[]> {
    const out: KObject[] = [];
    for (const k of this.kinds.all()) {
      if (k.kind === "Event") continue;
      out.push(...(await this.store.list(k, undefined)).items);
    }
    return out;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        const all = await this.allObjects();
        for (const { uid, orphan } of batch) {
          for (const o of all.filter((x) => x.metadata.ownerReferences?.some((r) => r.uid === uid))) await this.handle(o, uid, orphan);
        }
      }
    } catch (e) {
      this.log.warn({ err: String(e) }, "gc failed");
    } finally {
      this.running = false;
    }
  }

  private async handle(o: KObject, ownerUid: string, orphan: boolean): Promise<void> {
    const kind = this.kinds.byKind(o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "", o.kind)!;
    const ns = o.metadata.namespace;
    const name = o.metadata.name!;
    try {
      const remaining = (o.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
      if (orphan || remaining.length > 0) {
        await this.store.guaranteedUpdate(kind, ns, name, GC, (cur) => {
          cur.metadata.ownerReferences = (cur.metadata.ownerReferences ?? []).filter((r) => r.uid !== ownerUid);
          if (!cur.metadata.ownerReferences.length) delete cur.metadata.ownerReferences;
          return cur;
        });
        this.orphanedTotal++;
        return;
      }
      const { obj, gone } = await this.store.delete(kind, ns, name, GC);
      this.deletedTotal++;
      this.log.info({ kind: kind.kind, namespace: ns, name, owner: ownerUid }, "garbage collected dependent");
      if (gone && obj.metadata.uid) this.ownerDeleted(obj.metadata.uid, false);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /** Finds dependents whose owners no longer exist. */
  async sweep(): Promise<void> {
    const all = await this.allObjects();
    const uids = new Set(all.map((o) => o.metadata.uid));
    for (const o of all) {
      for (const r of o.metadata.ownerReferences ?? []) if (!uids.has(r.uid)) this.ownerDeleted(r.uid, false);
    }
    this.lastSweep = new Date().toISOString();
  }

  /** State for /debug/state. */
  snapshot() {
    return { pending: this.pending.length, deletedTotal: this.deletedTotal, orphanedTotal: this.orphanedTotal, lastSweep: this.lastSweep };
  }
}
