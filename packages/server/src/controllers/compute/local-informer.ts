/**
 * An in-process informer for server controllers: lists some kinds from the store, then follows the
 * WatchCache (no HTTP, one shared backend watch). It re-lists when the cache drops it (overflow, compaction).
 * Objects are replaced only by newer resourceVersions, so a write result a controller feeds back with
 * `observe()` is never overwritten by an older watch event that arrives after it.
 */
import type { KindDefinition, KObject } from "@kumo/api";
import { kindPrefix } from "../../registry/codec.js";
import type { ObjectStore } from "../../registry/store.js";
import type { CachedEvent, Subscriber, WatchCache } from "../../registry/watch-cache.js";
import { keyOf } from "./resources.js";

/** Called for every change the informer applies (after its maps are updated). */
export type InformerHandler = (kind: KindDefinition, type: "ADDED" | "MODIFIED" | "DELETED", obj: KObject, prev?: KObject) => void;

/** Maps of objects per kind, kept current. */
export class LocalInformer {
  private readonly maps = new Map<string, Map<string, KObject>>();
  private readonly subs: Subscriber[] = [];
  private stopped = false;
  relists = 0;

  constructor(private readonly store: ObjectStore, private readonly cache: WatchCache, private readonly kinds: KindDefinition[], private readonly handler: InformerHandler) {
    for (const k of kinds) this.maps.set(k.kind, new Map());
  }

  /** Lists every kind and subscribes; resolves when the maps are filled. */
  async start(): Promise<void> {
    this.stopped = false;
    for (const kind of this.kinds) await this.startKind(kind);
  }

  private async startKind(kind: KindDefinition): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      const list = await this.store.list(kind, undefined);
      const map = this.maps.get(kind.kind)!;
      const seen = new Set<string>();
      for (const o of list.items) {
        seen.add(keyOf(o));
        this.apply(kind, "ADDED", o);
      }
      for (const [k, o] of [...map]) if (!seen.has(k)) this.apply(kind, "DELETED", o);
      const sub: Subscriber = {
        prefix: kindPrefix(kind),
        afterRevision: Number(list.metadata.resourceVersion),
        deliver: (evs) => this.deliver(evs),
        close: () => {
          this.drop(sub);
          if (this.stopped) return;
          this.relists++;
          void this.startKind(kind);
        },
      };
      try {
        const backlog = this.cache.subscribe(sub);
        this.subs.push(sub);
        this.deliver(backlog);
        return;
      } catch {
        // The window moved past our list (heavy churn): list again.
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private drop(sub: Subscriber): void {
    const i = this.subs.indexOf(sub);
    if (i >= 0) this.subs.splice(i, 1);
  }

  private deliver(evs: CachedEvent[]): void {
    for (const e of evs) this.apply(e.kind, e.type, e.obj);
  }

  private apply(kind: KindDefinition, type: "ADDED" | "MODIFIED" | "DELETED", obj: KObject): void {
    const map = this.maps.get(kind.kind);
    if (!map) return;
    const k = keyOf(obj);
    const prev = map.get(k);
    if (type === "DELETED") {
      if (prev && prev.metadata.uid !== obj.metadata.uid) return; // an older incarnation's delete
      map.delete(k);
      this.handler(kind, type, obj, prev);
      return;
    }
    if (prev && prev.metadata.uid === obj.metadata.uid && Number(prev.metadata.resourceVersion) >= Number(obj.metadata.resourceVersion)) return;
    map.set(k, obj);
    this.handler(kind, prev ? "MODIFIED" : type, obj, prev);
  }

  /** Feeds back an object this process just wrote (same rules as a watch event). */
  observe(kind: KindDefinition, obj: KObject): void {
    this.apply(kind, "MODIFIED", obj);
  }

  /** One object ("ns/name" or "/name" for cluster-scoped kinds). */
  get(kind: KindDefinition, key: string): KObject | undefined {
    return this.maps.get(kind.kind)?.get(key);
  }

  /** Every object of a kind. */
  list(kind: KindDefinition): IterableIterator<KObject> {
    return this.maps.get(kind.kind)!.values();
  }

  /** Number of objects of a kind. */
  count(kind: KindDefinition): number {
    return this.maps.get(kind.kind)?.size ?? 0;
  }

  /** Unsubscribes. */
  stop(): void {
    this.stopped = true;
    for (const s of this.subs.splice(0)) this.cache.unsubscribe(s);
  }
}
