/**
 * Unique allocations (VNIs, MACs, IPs) as keys in the store: claiming is a `create` of
 * `/allocations/<pool>/<value>`, so uniqueness rests on the backend's compare-and-swap, not on a
 * cache that two servers (or two racing requests) could both believe. Each claim names its owner's uid
 * so the sweeper can free what a deleted or never-created owner left behind.
 */
import type { Backend } from "../../storage/backend.js";
import { KeyedLock } from "@kumo/runtime";

/** Root of all allocation keys. */
export const ALLOCATIONS_PREFIX = "/allocations/";

/** Who holds an allocation. */
export interface AllocationOwner {
  kind: string;
  namespace?: string;
  name: string;
  uid: string;
}

/** Stored value of an allocation key. */
export interface AllocationRecord {
  owner: AllocationOwner;
  time: string;
}

/** Claims and releases values in named pools. */
export class Allocator {
  private readonly lock = new KeyedLock();
  claimsTotal = 0;
  releasesTotal = 0;
  exhaustedTotal = 0;

  constructor(private readonly backend: Backend) {}

  private key(pool: string, value: string): string {
    return `${ALLOCATIONS_PREFIX}${pool}/${value}`;
  }

  /** Claims one exact value; false when someone else holds it. */
  async claim(pool: string, value: string, owner: AllocationOwner): Promise<boolean> {
    const rec: AllocationRecord = { owner, time: new Date().toISOString() };
    const res = await this.backend.create(this.key(pool, value), JSON.stringify(rec));
    if (res.ok) {
      this.claimsTotal++;
      return true;
    }
    // Re-claiming by the same owner (a retried create) is fine.
    return res.kv ? (JSON.parse(res.kv.value) as AllocationRecord).owner.uid === owner.uid : false;
  }

  /**
   * Claims the first free value of `candidates()` (an in-order generator). Serialised per pool in this
   * process so 500 concurrent claims do not all race for the same first value.
   */
  async claimFirstFree(pool: string, candidates: () => Iterable<string>, owner: AllocationOwner): Promise<string | undefined> {
    return this.lock.run(pool, async () => {
      const used = new Set(
        (await this.backend.list(`${ALLOCATIONS_PREFIX}${pool}/`)).kvs.map((kv) =>
          kv.key.slice(ALLOCATIONS_PREFIX.length + pool.length + 1),
        ),
      );
      for (const v of candidates()) {
        if (used.has(v)) continue;
        if (await this.claim(pool, v, owner)) return v;
      }
      this.exhaustedTotal++;
      return undefined;
    });
  }

  /** Releases a value if `ownerUid` (when given) still holds it. */
  async release(pool: string, value: string, ownerUid?: string): Promise<void> {
    const key = this.key(pool, value);
    const kv = await this.backend.get(key);
    if (!kv) return;
    if (ownerUid && (JSON.parse(kv.value) as AllocationRecord).owner.uid !== ownerUid) return;
    const res = await this.backend.delete(key, kv.modRevision);
    if (res.ok) this.releasesTotal++;
  }

  /** Every allocation with its pool and value (for the sweeper and /debug/state). */
  async all(): Promise<{ pool: string; value: string; record: AllocationRecord; key: string; modRevision: number }[]> {
    const res = await this.backend.list(ALLOCATIONS_PREFIX);
    return res.kvs.map((kv) => {
      const rest = kv.key.slice(ALLOCATIONS_PREFIX.length);
      const i = rest.lastIndexOf("/");
      return {
        pool: rest.slice(0, i),
        value: rest.slice(i + 1),
        record: JSON.parse(kv.value) as AllocationRecord,
        key: kv.key,
        modRevision: kv.modRevision,
      };
    });
  }

  /** Deletes one allocation key (sweeper). */
  async drop(key: string, modRevision: number): Promise<void> {
    if ((await this.backend.delete(key, modRevision)).ok) this.releasesTotal++;
  }
}
