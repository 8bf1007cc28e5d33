/**
 * Informer: client-go's list-then-watch cache. It lists a collection, watches from the list's
 * resourceVersion, keeps every object in a local Map and calls handlers on add/update/delete.
 * Because controllers are level-triggered, handlers only enqueue keys; correctness never depends on
 * seeing every event: a relist (after 410 Gone or an error) diffs against the cache and reports what
 * changed, and the resync period re-delivers every object as an update.
 */
import type { KObject, WatchEvent } from "@kumo/api";
import type { KumoClient } from "./client.js";
import { isGone } from "./errors.js";
import { objectKey } from "./paths.js";
import { backoffDelay, sleep } from "./sleep.js";
import type { ResourceType } from "./types.js";

/** Callbacks of an informer. They must be quick (enqueue a key) and must not mutate the objects. */
export interface InformerHandlers<T> {
  add?(obj: T): void;
  update?(old: T, cur: T): void;
  delete?(obj: T): void;
}

/** Options of an informer. */
export interface InformerOptions {
  /** Watch one namespace (default: all namespaces / cluster-scoped). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Re-deliver every cached object as an update this often (0/undefined: never). */
  resyncPeriodMs?: number;
  /** List page size (default 500). */
  pageSize?: number;
  /** Backoff after failures: from min (default 200 ms) doubling to max (default 30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Errors the informer recovered from (list/watch failures, throwing handlers). */
  onError?: (e: unknown) => void;
}

/** Counters for metrics and /debug/state. */
export interface InformerStats {
  objects: number;
  lists: number;
  watches: number;
  events: number;
  resourceVersion?: string;
}

/** A list+watch cache of one resource type. */
export class Informer<T extends KObject = KObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers = new Set<InformerHandlers<T>>();
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private rv: string | undefined;
  private counters = { lists: 0, watches: 0, events: 0 };

  constructor(
    private readonly client: KumoClient,
    readonly resource: ResourceType,
    private readonly o: InformerOptions = {},
  ) {}

  /** Registers handlers; after the first sync the new handler gets an `add` for every cached object. Returns an unsubscribe. */
  addHandler(h: InformerHandlers<T>): () => void {
    this.handlers.add(h);
    if (this.synced) for (const obj of this.cache.values()) this.call(() => h.add?.(obj));
    return () => this.handlers.delete(h);
  }

  /** True once the first list has been loaded into the cache. */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve(false);
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      const done = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      };
      this.syncWaiters.push(done);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The cached object with key `namespace/name` (or `name`). Treat it as read-only. */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Every cached object. Treat them as read-only. */
  list(): T[] {
    return [...this.cache.values()];
  }

  /** The resourceVersion the cache is at. */
  get resourceVersion(): string | undefined {
    return this.rv;
  }

  /** Counters for metrics. */
  stats(): InformerStats {
    return { objects: this.cache.size, ...this.counters, resourceVersion: this.rv };
  }

  /** Runs list+watch until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const min = this.o.minBackoffMs ?? 200;
    const max = this.o.maxBackoffMs ?? 30_000;
    const resync = this.o.resyncPeriodMs ? setInterval(() => this.resync(), this.o.resyncPeriodMs) : undefined;
    // Consecutive failures without progress (a watch event): drives the backoff, so a server that
    // keeps failing (or keeps answering 410) is not hammered, while a healthy one is retried at once.
    let failures = 0;
    let eventsAtLastFailure = 0;
    try {
      while (!signal.aborted) {
        try {
          await this.listOnce(signal);
          await this.watchUntilBroken(signal, min);
        } catch (e) {
          if (signal.aborted) break;
          if (this.counters.events > eventsAtLastFailure) failures = 0;
          eventsAtLastFailure = this.counters.events;
          // 410: our resourceVersion was compacted away; the first time, relist at once: nothing is broken.
          if (isGone(e) && failures === 0) {
            failures = 1;
            continue;
          }
          if (!isGone(e)) this.o.onError?.(e);
          await sleep(backoffDelay(failures++, min, max), signal);
        }
      }
    } finally {
      if (resync) clearInterval(resync);
    }
  }

  private async listOnce(signal: AbortSignal): Promise<void> {
    const list = await this.client.listAll<T>(this.resource, this.o.namespace, {
      labelSelector: this.o.labelSelector,
      fieldSelector: this.o.fieldSelector,
      limit: this.o.pageSize ?? 500,
      signal,
    });
    this.counters.lists++;
    this.replace(list.items);
    this.rv = list.metadata.resourceVersion;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  /**
   * Watches from the cache's resourceVersion. A stream the server ends cleanly (timeout, restart) is
   * resumed from the last seen version, as client-go's reflector does; if that version is gone the
   * server answers 410 and `run` relists. Errors propagate to `run`.
   */
  private async watchUntilBroken(signal: AbortSignal, minBackoffMs: number): Promise<void> {
    let quickEnds = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let sawEvent = false;
      this.counters.watches++;
      const stream = this.client.watch<T>(this.resource, this.o.namespace, {
        resourceVersion: this.rv,
        allowWatchBookmarks: true,
        labelSelector: this.o.labelSelector,
        fieldSelector: this.o.fieldSelector,
        signal,
      });
      for await (const ev of stream) {
        sawEvent = true;
        this.apply(ev);
      }
      // A server that closes watches at once would make this loop spin: back off until it behaves.
      quickEnds = !sawEvent && Date.now() - started < 1000 ? quickEnds + 1 : 0;
      if (quickEnds > 0) await sleep(backoffDelay(quickEnds - 1, minBackoffMs, 30_000), signal);
    }
  }

  private apply(ev: WatchEvent<T>): void {
    this.counters.events++;
    const obj = ev.object;
    if (obj.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
    if (ev.type === "BOOKMARK") return;
    const key = objectKey(obj);
    const old = this.cache.get(key);
    if (ev.type === "DELETED") {
      this.cache.delete(key);
      this.emit((h) => h.delete?.(obj));
    } else {
      this.cache.set(key, obj);
      if (old) this.emit((h) => h.update?.(old, obj));
      else this.emit((h) => h.add?.(obj));
    }
  }

  /** Replaces the cache with a fresh list, reporting the difference as add/update/delete. */
  private replace(items: T[]): void {
    const seen = new Set<string>();
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, obj);
      if (!old) this.emit((h) => h.add?.(obj));
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.emit((h) => h.update?.(old, obj));
    }
    for (const [key, old] of this.cache) {
      if (seen.has(key)) continue;
      this.cache.delete(key);
      this.emit((h) => h.delete?.(old));
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.cache.values()) this.emit((h) => h.update?.(obj, obj));
  }

  private emit(f: (h: InformerHandlers<T>) => void): void {
    for (const h of this.handlers) this.call(() => f(h));
  }

  private call(f: () => void): void {
    try {
      f();
    } catch (e) {
      this.o.onError?.(e);
    }
  }
}
