/**
 * Watch fan-out from one backend watch: every API watcher is served from an in-memory window of recent
 * events, so 1,000 watchers cost one store watch, one decode per event and one JSON encoding per event.
 * A watcher asking for a revision older than the window gets 410 Gone and re-lists, as with Kubernetes.
 */
import type { KindDefinition, KindRegistry, KObject } from "@kumo/api";
import type { Backend, KeyValue, WatchEvent as StoreEvent } from "../storage/backend.js";
import { CompactedError } from "../storage/backend.js";
import { REGISTRY_PREFIX, decode } from "./codec.js";

/** A decoded change to one object. */
export interface CachedEvent {
  revision: number;
  kind: KindDefinition;
  /** Storage key, for prefix filtering. */
  key: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  readonly obj: KObject;
  /** The previous version, decoded on first use (only selector transitions need it). */
  readonly prev?: KObject;
  /** JSON of `obj`, encoded once and shared by every watcher. */
  json: string;
  /** The watch event line as sent (`{"type":…,"object":…}\n`), made by the first watcher that sends it as is. */
  wire?: Uint8Array;
}

/** Thrown to a watcher whose requested revision is outside the window (becomes 410 Expired). */
export class TooOldError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`too old resource version: ${requested} (${oldest})`);
  }
}

/** What one watcher receives. */
export interface Subscriber {
  prefix: string;
  /** Events with revision > afterRevision. */
  afterRevision: number;
  deliver(events: CachedEvent[]): void;
  /** The cache gave up on this watcher (overflow or shutdown). */
  close(reason: string): void;
}

/**
 * The wire JSON of a stored object without parsing it: the store keeps apiVersion, kind and metadata
 * first and leaves resourceVersion out (codec.encode), so the revision is spliced into metadata.
 */
function withResourceVersion(kind: KindDefinition, kv: KeyValue): string {
  const i = kv.value.indexOf('"metadata":{');
  if (i < 0 || i > 200) return JSON.stringify(decode(kind, kv)); // not our layout: take the slow path
  const at = i + '"metadata":{'.length;
  const sep = kv.value[at] === "}" ? "" : ",";
  return `${kv.value.slice(0, at)}"resourceVersion":"${kv.modRevision}"${sep}${kv.value.slice(at)}`;
}

/** Keeps the window of recent events and the set of live subscribers. */
export class WatchCache {
  private readonly window: CachedEvent[] = [];
  /** Events with revision <= oldestRevision are no longer available. */
  private oldestRevision = 0;
  private latestRevision = 0;
  private readonly subscribers = new Set<Subscriber>();
  private readonly abort = new AbortController();
  /** The backend watch loop (it never rejects: it retries), awaited by stop(). */
  private running?: Promise<void>;
  eventsTotal = 0;

  private windowBytes = 0;
  /** Approximate memory per buffered event (a WeakMap: evicted events take their entry with them). */
  private readonly sizes = new WeakMap<CachedEvent, number>();

  constructor(
    private readonly backend: Backend,
    private readonly kinds: KindRegistry,
    private readonly capacity = 20_000,
    private readonly capacityBytes = 128 * 1024 * 1024,
  ) {}

  /** Starts the one backend watch. Resolves once it is running. */
  async start(): Promise<void> {
    const rev = await this.backend.currentRevision();
    this.oldestRevision = rev;
    this.latestRevision = rev;
    this.running = this.run(rev);
  }

  private async run(from: number): Promise<void> {
    let after = from;
    while (!this.abort.signal.aborted) {
      try {
        for await (const batch of this.backend.watch(REGISTRY_PREFIX, { afterRevision: after, signal: this.abort.signal })) {
          this.ingest(batch);
          if (batch.length) after = batch[batch.length - 1].kv.modRevision;
        }
      } catch (e) {
        if (this.abort.signal.aborted) return;
        if (e instanceof CompactedError) {
          // We fell behind compaction: every watcher must re-list.
          this.oldestRevision = e.compactRevision;
          for (const s of [...this.subscribers]) s.close("compacted");
          after = e.compactRevision;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private ingest(batch: StoreEvent[]): void {
    const out: CachedEvent[] = [];
    for (const ev of batch) {
      const kind = this.kindOfKey(ev.kv.key);
      if (!kind) continue;
      const rev = ev.kv.modRevision;
      let e: CachedEvent;
      if (ev.type === "DELETE") {
        const src = ev.prevKv ?? ev.kv;
        if (!src.value) continue;
        const obj = decode(kind, src, rev);
        e = { revision: rev, kind, key: ev.kv.key, type: "DELETED", obj, json: JSON.stringify(obj) };
      } else {
        const kv = ev.kv;
        const prevKv = ev.prevKv;
        let prev: KObject | undefined;
        let obj: KObject | undefined;
        e = {
          revision: rev,
          kind,
          key: kv.key,
          type: kv.createRevision === rev ? "ADDED" : "MODIFIED",
          json: withResourceVersion(kind, kv),
          // Parsed only if a watcher's selector or an in-process subscriber needs the object.
          get obj() {
            return (obj ??= decode(kind, kv));
          },
          get prev() {
            return prevKv ? (prev ??= decode(kind, prevKv)) : undefined;
          },
        };
      }
      out.push(e);
      this.window.push(e);
      // The JSON string (UTF-16), its wire bytes once a watcher sent it, and the previous value.
      this.sizes.set(e, e.json.length * 3 + (ev.prevKv?.value.length ?? 0));
      this.windowBytes += this.sizes.get(e)!;
      this.latestRevision = Math.max(this.latestRevision, rev);
    }
    if (batch.length) this.latestRevision = Math.max(this.latestRevision, batch[batch.length - 1].kv.modRevision);
    // Bounded by count and by bytes: a few huge objects must not grow the window without limit.
    while (this.window.length > this.capacity || (this.windowBytes > this.capacityBytes && this.window.length > 1)) {
      const gone = this.window.shift()!;
      this.windowBytes -= this.sizes.get(gone) ?? 0;
      this.oldestRevision = gone.revision;
    }
    this.eventsTotal += out.length;
    if (!out.length) return;
    for (const s of this.subscribers) {
      const mine = out.filter((e) => e.revision > s.afterRevision && e.key.startsWith(s.prefix));
      if (mine.length) s.deliver(mine);
    }
  }

  private kindOfKey(key: string): KindDefinition | undefined {
    // /registry/<group|core>/<plural>/...
    const parts = key.slice(REGISTRY_PREFIX.length).split("/");
    const group = parts[0] === "core" ? "" : parts[0];
    return this.kinds.all().find((k) => k.group === group && k.plural === parts[1]);
  }

  /**
   * Registers a subscriber and returns the buffered events it missed (revision > afterRevision).
   * Throws TooOldError when those are no longer in the window.
   */
  subscribe(s: Subscriber): CachedEvent[] {
    if (s.afterRevision < this.oldestRevision) throw new TooOldError(s.afterRevision, this.oldestRevision);
    const backlog = this.window.filter((e) => e.revision > s.afterRevision && e.key.startsWith(s.prefix));
    this.subscribers.add(s);
    return backlog;
  }

  /** Removes a subscriber. */
  unsubscribe(s: Subscriber): void {
    this.subscribers.delete(s);
  }

  /** Drops events at or below `revision` (after a store compaction): older watches get 410. */
  compacted(revision: number): void {
    while (this.window.length && this.window[0].revision <= revision) this.windowBytes -= this.sizes.get(this.window.shift()!) ?? 0;
    this.oldestRevision = Math.max(this.oldestRevision, revision);
  }

  /** Newest revision seen by the cache (bookmarks carry it). */
  get revision(): number {
    return this.latestRevision;
  }

  /** Internal state for /debug/state and metrics. */
  snapshot() {
    return {
      watchers: this.subscribers.size,
      windowEvents: this.window.length,
      windowBytes: this.windowBytes,
      oldestRevision: this.oldestRevision,
      latestRevision: this.latestRevision,
      capacity: this.capacity,
      eventsTotal: this.eventsTotal,
    };
  }

  /** Number of live watchers. */
  get watcherCount(): number {
    return this.subscribers.size;
  }

  /** Ends the backend watch and every subscriber; resolves once the watch loop has returned. */
  async stop(): Promise<void> {
    this.abort.abort();
    for (const s of [...this.subscribers]) s.close("shutdown");
    this.subscribers.clear();
    await this.running;
  }
}
