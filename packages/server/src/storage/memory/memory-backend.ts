/**
 * memory:// — the contract implemented with plain data structures, for unit tests.
 *
 * Same semantics as sqlite (revisions, history for watch-from-revision, compaction, CompactedError),
 * minus durability. Every write is applied synchronously and forms its own "commit group".
 */
import type {
  Backend,
  BackendObserver,
  BackendStats,
  KeyValue,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
  WriteResult,
  WriteOptions,
} from "../backend.js";
import { compareKeys, maxKey, prefixEnd } from "../key-order.js";
import { timed } from "../observe.js";
import { checkKey, checkRevision, checkValue } from "../validate.js";
import { BackendClosedError, WatchHub } from "../watch-hub.js";
import { watchStream, type HistorySource } from "../watch-stream.js";

/** Options of the memory backend. */
export interface MemoryBackendOptions {
  observer?: BackendObserver;
  /** Per-watcher buffer bound in events (default DEFAULT_WATCH_BUFFER). */
  watchBufferLimit?: number;
}

/** In-memory Backend with the full contract semantics. */
export class MemoryBackend implements Backend {
  readonly kind = "memory";
  private readonly data = new Map<string, KeyValue>();
  /** Keys in code-point order, so list is a binary search plus a scan like a B-tree range. */
  private readonly sorted: string[] = [];
  /** Every change after `compacted`, ascending by revision (kv.modRevision). */
  private log: WatchEvent[] = [];
  private rev = 0;
  private compacted = 0;
  private closed = false;
  private readonly hub: WatchHub;
  private readonly observer: BackendObserver | undefined;
  private readonly source: HistorySource;

  constructor(opts: MemoryBackendOptions = {}) {
    this.observer = opts.observer;
    this.hub = new WatchHub(opts.watchBufferLimit);
    this.source = {
      revision: () => this.rev,
      compactRevision: () => this.compacted,
      history: (prefix, after, upTo, limit) => this.history(prefix, after, upTo, limit),
    };
  }

  get(key: string): Promise<KeyValue | undefined> {
    return timed(this.observer, "get", () => {
      this.checkOpen();
      const kv = this.data.get(key);
      return kv && { ...kv };
    });
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return timed(this.observer, "list", () => {
      this.checkOpen();
      const end = prefixEnd(prefix);
      const limit = opts.limit && opts.limit > 0 ? opts.limit : Infinity;
      const kvs: KeyValue[] = [];
      let more = false;
      for (let i = lowerBound(this.sorted, maxKey(prefix, opts.startKey ?? "")); i < this.sorted.length; i++) {
        const key = this.sorted[i];
        if (end !== undefined && compareKeys(key, end) >= 0) break;
        if (kvs.length === limit) {
          more = true;
          break;
        }
        kvs.push({ ...this.data.get(key)! });
      }
      return { kvs, revision: this.rev, more };
    });
  }

  create(key: string, value: string, opts: WriteOptions = {}): Promise<WriteResult> {
    return timed(this.observer, "create", () => {
      this.checkOpen();
      checkKey(key);
      checkValue(value);
      const cur = this.data.get(key);
      if (cur) return this.refused(cur);
      const rev = this.rev + 1;
      const kv: KeyValue = { key, value, createRevision: rev, modRevision: rev };
      this.sorted.splice(lowerBound(this.sorted, key), 0, key);
      return this.attach(this.apply(kv, { type: "PUT", kv }), opts);
    });
  }

  update(key: string, value: string, modRevision: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return timed(this.observer, "update", () => {
      this.checkOpen();
      checkKey(key);
      checkValue(value);
      checkRevision(modRevision, "modRevision");
      const cur = this.data.get(key);
      if (!cur || cur.modRevision !== modRevision) return this.refused(cur);
      const kv: KeyValue = { key, value, createRevision: cur.createRevision, modRevision: this.rev + 1 };
      return this.attach(this.apply(kv, { type: "PUT", kv, prevKv: cur }), opts);
    });
  }

  delete(key: string, modRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return timed(this.observer, "delete", () => {
      this.checkOpen();
      checkKey(key);
      if (modRevision !== undefined) checkRevision(modRevision, "modRevision");
      const cur = this.data.get(key);
      if (!cur || (modRevision !== undefined && cur.modRevision !== modRevision)) return this.refused(cur);
      const kv: KeyValue = { ...cur, modRevision: this.rev + 1 };
      this.sorted.splice(lowerBound(this.sorted, key), 1);
      return this.attach(this.apply(undefined, { type: "DELETE", kv, prevKv: cur }, kv), opts);
    });
  }

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent[]> {
    return watchStream(this.hub, this.source, prefix, opts);
  }

  compact(revision: number): Promise<void> {
    return timed(this.observer, "compact", () => {
      this.checkOpen();
      checkRevision(revision, "compact revision");
      if (revision > this.rev) throw new RangeError(`cannot compact future revision ${revision} (current ${this.rev})`);
      if (revision <= this.compacted) return;
      this.compacted = revision;
      this.log = this.log.slice(firstAfter(this.log, revision));
    });
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async stats(): Promise<BackendStats> {
    this.checkOpen();
    return { dbSizeBytes: 0, revision: this.rev, compactRevision: this.compacted, keys: this.data.size };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.endAll(new BackendClosedError());
  }

  /** Commit one write: bump the revision, store (or drop, for deletes) the key, log and publish. */
  private apply(stored: KeyValue | undefined, event: WatchEvent, reported = stored): WriteResult {
    this.rev++;
    if (stored) this.data.set(stored.key, stored);
    else this.data.delete(event.kv.key);
    // Watchers get their own kv object: mutating an event must not reach into the store.
    const logged: WatchEvent = { ...event, kv: { ...event.kv } };
    this.log.push(logged);
    this.hub.publish([logged]);
    return { ok: true, revision: this.rev, kv: reported && { ...reported } };
  }

  /** Writes the attached key right after a successful write (single-threaded: nothing can come between). */
  private attach(res: WriteResult, opts: WriteOptions): WriteResult {
    if (!res.ok || !opts.attach) return res;
    const extra = opts.attach(res.revision);
    if (this.data.has(extra.key)) return res;
    const rev = this.rev + 1;
    const kv: KeyValue = { key: extra.key, value: extra.value, createRevision: rev, modRevision: rev };
    this.sorted.splice(lowerBound(this.sorted, extra.key), 0, extra.key);
    this.apply(kv, { type: "PUT", kv });
    return res;
  }

  private refused(cur: KeyValue | undefined): WriteResult {
    return { ok: false, revision: this.rev, kv: cur && { ...cur } };
  }

  private history(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = firstAfter(this.log, after); i < this.log.length && out.length < limit; i++) {
      const e = this.log[i];
      if (e.kv.modRevision > upTo) break;
      if (e.kv.key.startsWith(prefix)) out.push(e);
    }
    return out;
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendClosedError();
  }
}

/** Index of the first key >= `key` in a code-point-sorted array. */
function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(sorted[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first event with revision > `rev` in a revision-ordered log. */
function firstAfter(log: readonly WatchEvent[], rev: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid].kv.modRevision <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
