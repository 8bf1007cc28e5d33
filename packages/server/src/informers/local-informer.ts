/**
 * The server's informer, and the runtime Source of every server loop: it lists some kinds from the store,
 * then follows the WatchCache (no HTTP, one shared backend watch), keeping a map per kind, and hands each
 * change to a handler that maps it to keys of the loop it feeds. When the cache drops its subscription
 * (compaction overtook it) or its list is already older than the cache's window (too-old revision), it lists
 * again and diffs against its maps, so the handler sees what changed meanwhile; a failing relist is retried
 * with backoff until the source stops. Objects are replaced only by newer resourceVersions, so a write
 * result a loop feeds back with `observe()` is never overwritten by an older event that arrives after it.
 */
import type { KindDefinition, KObject, ObjectOf } from "@kumo/api";
import { backoffDelay, sleep } from "@kumo/client";
import type { Enqueue, Source } from "@kumo/runtime";
import { kindPrefix } from "../registry/codec.js";
import type { ObjectStore } from "../registry/store.js";
import { type CachedEvent, type Subscriber, TooOldError, type WatchCache } from "../registry/watch-cache.js";

/** What happened to an object. */
export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

/** One change the informer applied (after its maps were updated). `prev` is the version it replaced. */
export interface Change {
  kind: KindDefinition;
  type: ChangeType;
  obj: KObject;
  prev?: KObject;
}

/** A change of an object of kind `K`: `obj` and `prev` typed by it. */
export type ChangeOf<K extends KindDefinition> = Change & { obj: ObjectOf<K>; prev?: ObjectOf<K> };

/** Narrows a change of any kind to one of `kind` (the informer stores each object under the kind it was listed as). */
export function isChangeOf<K extends KindDefinition>(change: Change, kind: K): change is ChangeOf<K> {
  return change.kind === kind;
}

/** Narrows an object of any kind (one a loop kept from a change) to `kind`, by its kind name as the loops compared it. */
export function isObjectOf<K extends KindDefinition>(obj: KObject, kind: K): obj is ObjectOf<K> {
  return obj.kind === kind.kind;
}

/** Maps a change to work, usually keys queued in the loop the informer feeds. Must be quick; must not mutate. */
export type ChangeHandler = (change: Change, enqueue: Enqueue) => void;

/** The informer's key of an object: `namespace/name`, or `/name` for cluster-scoped kinds. */
export function keyOf(o: KObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

const NO_ENQUEUE: Enqueue = Object.assign(() => undefined, { after: () => undefined });

/** A list+watch cache of some kinds over the WatchCache. */
export class LocalInformer implements Source {
  private readonly maps = new Map<string, Map<string, KObject>>();
  private readonly subs = new Map<string, Subscriber>();
  private readonly relisting = new Set<Promise<void>>();
  private enqueue: Enqueue = NO_ENQUEUE;
  private signal?: AbortSignal;
  private counters = { lists: 0, relists: 0, events: 0, handlerErrors: 0 };
  private lastError?: string;

  constructor(
    readonly name: string,
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
    private readonly kinds: KindDefinition[],
    private readonly handler?: ChangeHandler,
  ) {
    for (const k of kinds) this.maps.set(k.kind, new Map());
  }

  /**
   * Lists every kind and follows the cache; resolves once every map is filled (rejects if a first list fails).
   * Stops, with every subscription and pending relist, when `signal` aborts.
   */
  async start(signal: AbortSignal, enqueue: Enqueue = NO_ENQUEUE): Promise<void> {
    this.signal = signal;
    this.enqueue = enqueue;
    signal.addEventListener("abort", () => this.unsubscribeAll(), { once: true });
    for (const kind of this.kinds) await this.listAndFollow(kind);
  }

  /** Resolves once relists still running when the signal aborted have ended. */
  async stop(): Promise<void> {
    await Promise.all([...this.relisting]);
  }

  private unsubscribeAll(): void {
    for (const s of this.subs.values()) this.cache.unsubscribe(s);
    this.subs.clear();
  }

  /** One list, diffed into the map, then a subscription from the list's revision; throws when either fails. */
  private async listAndFollow(kind: KindDefinition): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.signal?.aborted) return;
      const list = await this.store.list(kind, undefined);
      this.counters.lists++;
      if (this.signal?.aborted) return;
      this.replace(kind, list.items);
      const sub: Subscriber = {
        prefix: kindPrefix(kind),
        afterRevision: Number(list.metadata.resourceVersion),
        deliver: (evs) => this.deliver(evs),
        close: (why) => this.closed(kind, sub, why),
      };
      try {
        const backlog = this.cache.subscribe(sub);
        this.subs.set(kind.kind, sub);
        this.deliver(backlog);
        return;
      } catch (e) {
        // The window moved past our list (heavy churn): list again, a little later each time.
        if (!(e instanceof TooOldError) || attempt >= 10) throw e;
        await sleep(backoffDelay(attempt, 20, 1000), this.signal);
      }
    }
  }

  /** The cache gave up on a subscription: list again unless we or the cache are stopping. */
  private closed(kind: KindDefinition, sub: Subscriber, why: string): void {
    this.cache.unsubscribe(sub);
    if (this.subs.get(kind.kind) === sub) this.subs.delete(kind.kind);
    if (why === "shutdown" || this.signal?.aborted) return;
    this.counters.relists++;
    const p: Promise<void> = this.relist(kind).finally(() => this.relisting.delete(p));
    this.relisting.add(p);
  }

  /** Lists until it succeeds or the informer stops; never rejects. */
  private async relist(kind: KindDefinition): Promise<void> {
    for (let failures = 0; !this.signal?.aborted; failures++) {
      try {
        await this.listAndFollow(kind);
        return;
      } catch (e) {
        this.lastError = `relist of ${kind.plural}: ${e instanceof Error ? e.message : String(e)}`;
        await sleep(backoffDelay(failures, 100, 10_000), this.signal);
      }
    }
  }

  private deliver(evs: CachedEvent[]): void {
    for (const e of evs) {
      this.counters.events++;
      this.apply(e.kind, e.type, e.obj);
    }
  }

  /** Makes the map of `kind` equal `items`, reporting each difference as a change. */
  private replace(kind: KindDefinition, items: KObject[]): void {
    const map = this.maps.get(kind.kind)!;
    const seen = new Set<string>();
    for (const o of items) {
      seen.add(keyOf(o));
      this.apply(kind, "ADDED", o);
    }
    for (const [k, o] of [...map]) if (!seen.has(k)) this.apply(kind, "DELETED", o);
  }

  private apply(kind: KindDefinition, type: ChangeType, obj: KObject): void {
    const map = this.maps.get(kind.kind);
    if (!map) return;
    const k = keyOf(obj);
    const prev = map.get(k);
    if (type === "DELETED") {
      if (prev && prev.metadata.uid !== obj.metadata.uid) return; // an older incarnation's delete
      map.delete(k);
      this.emit({ kind, type, obj, prev });
      return;
    }
    const rv = (o: KObject) => Number(o.metadata.resourceVersion);
    if (prev && prev.metadata.uid === obj.metadata.uid && rv(prev) >= rv(obj)) return;
    map.set(k, obj);
    this.emit({ kind, type: prev ? "MODIFIED" : type, obj, prev });
  }

  private emit(change: Change): void {
    if (!this.handler) return;
    try {
      this.handler(change, this.enqueue);
    } catch (e) {
      // A handler bug must not stop the cache from following: count it and show it in /debug/state.
      this.counters.handlerErrors++;
      this.lastError = `handler: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** Feeds back an object this process just wrote (same rules as a watch event). */
  observe(kind: KindDefinition, obj: KObject): void {
    this.apply(kind, "MODIFIED", obj);
  }

  /** One object by key (`ns/name`, or `/name` for cluster-scoped kinds). Treat it as read-only. */
  get<K extends KindDefinition>(kind: K, key: string): ObjectOf<K> | undefined;
  get(kind: KindDefinition, key: string): KObject | undefined {
    return this.maps.get(kind.kind)?.get(key);
  }

  /** Every object of a kind. Treat them as read-only. */
  list<K extends KindDefinition>(kind: K): IterableIterator<ObjectOf<K>>;
  list(kind: KindDefinition): IterableIterator<KObject> {
    return this.maps.get(kind.kind)!.values();
  }

  /** Number of objects of a kind. */
  count(kind: KindDefinition): number {
    return this.maps.get(kind.kind)?.size ?? 0;
  }

  /** Counters and sizes for /debug/state. */
  snapshot() {
    const objects: Record<string, number> = {};
    for (const [k, m] of this.maps) objects[k] = m.size;
    return { objects, following: this.subs.size, ...this.counters, ...(this.lastError ? { lastError: this.lastError } : {}) };
  }
}
