/**
 * Sources: what queues keys into a loop. An informer (list + watch, relist on 410, resync) maps each change
 * to the keys it affects; a timer queues a fixed key (a sweep) or every known key (a resync). Loops never
 * hand-roll a watch or a setInterval: they name their sources.
 */
import type { Informer, InformerHandlers } from "@kumo/client";
import type { KObject } from "@kumo/api";
import type { Enqueue, Source } from "./types.js";

/** Maps a change to the keys it affects (none, one or several). `old` is set on updates and deletes. */
export type KeyMapper<T> = (obj: T, event: "add" | "update" | "delete", old?: T) => Iterable<string> | string | undefined;

/** Options of informerSource. */
export interface InformerSourceOptions {
  /** Run the informer's list+watch from this source (default false: it is shared and started elsewhere). */
  run?: boolean;
  /**
   * Queue keys this long after the change (earliest wins), so a burst of watch events within the window
   * costs one reconcile that sees all of them, not one that sees the first and another for the rest.
   */
  delayMs?: number;
}

/** Keys from a client Informer's changes; resolves its start once the informer has synced. */
export function informerSource<T extends KObject>(
  name: string,
  informer: Informer<T>,
  toKeys: KeyMapper<T>,
  o: InformerSourceOptions = {},
): Source {
  // The informer's list+watch when this source runs it: stop() waits for it to end after the abort.
  let running: Promise<void> | undefined;
  return {
    name,
    async start(signal: AbortSignal, enqueue: Enqueue) {
      const add = o.delayMs ? (k: string) => enqueue.after(k, o.delayMs!) : enqueue;
      const put = (keys: Iterable<string> | string | undefined) => {
        if (keys === undefined) return;
        if (typeof keys === "string") add(keys);
        else for (const k of keys) add(k);
      };
      const handlers: InformerHandlers<T> = {
        add: (obj) => put(toKeys(obj, "add")),
        update: (old, cur) => put(toKeys(cur, "update", old)),
        delete: (obj) => put(toKeys(obj, "delete", obj)),
      };
      const unsubscribe = informer.addHandler(handlers);
      signal.addEventListener("abort", unsubscribe, { once: true });
      if (o.run) running = informer.run(signal);
      await informer.waitForSync(signal);
    },
    stop: async () => await running,
    snapshot: () => informer.stats(),
  };
}

/** Options of periodicSource. */
export interface PeriodicSourceOptions {
  /** Queue the key when the source starts too (default true). */
  atStart?: boolean;
  /** Called before each time the key is queued (also at start): for a loop that must know a pass is a resync. */
  onTick?: () => void;
}

/** Queues `key` at start and then every `everyMs` (a sweep that catches what no event announced). */
export function periodicSource(name: string, everyMs: number, key: string, o: PeriodicSourceOptions = {}): Source {
  let ticks = 0;
  return {
    name,
    async start(signal: AbortSignal, enqueue: Enqueue) {
      if (o.atStart ?? true) {
        o.onTick?.();
        enqueue(key);
      }
      const timer = setInterval(() => {
        ticks++;
        o.onTick?.();
        enqueue(key);
      }, everyMs);
      timer.unref?.();
      signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    },
    snapshot: () => ({ everyMs, key, ticks }),
  };
}

/** Queues every key `keys()` returns every `everyMs` (level-triggered resync: a missed event costs one period). */
export function resyncSource(name: string, everyMs: number, keys: () => Iterable<string>): Source {
  let ticks = 0;
  return {
    name,
    async start(signal: AbortSignal, enqueue: Enqueue) {
      const timer = setInterval(() => {
        ticks++;
        for (const k of keys()) enqueue(k);
      }, everyMs);
      timer.unref?.();
      signal.addEventListener("abort", () => clearInterval(timer), { once: true });
    },
    snapshot: () => ({ everyMs, ticks }),
  };
}

/** A source another piece of code pushes keys into (a callback, another loop's result). */
export class ManualSource implements Source {
  private enqueue?: Enqueue;
  private readonly early: string[] = [];
  pushed = 0;

  constructor(readonly name: string) {}

  /** Starts delivering; keys pushed before start are delivered now. */
  async start(_signal: AbortSignal, enqueue: Enqueue): Promise<void> {
    this.enqueue = enqueue;
    for (const k of this.early.splice(0)) enqueue(k);
  }

  /** Queues `key` in the loop (held until the loop starts). */
  push(key: string, delayMs = 0): void {
    this.pushed++;
    if (!this.enqueue) this.early.push(key);
    else if (delayMs > 0) this.enqueue.after(key, delayMs);
    else this.enqueue(key);
  }

  /** State for /debug/state. */
  snapshot() {
    return { pushed: this.pushed };
  }
}
