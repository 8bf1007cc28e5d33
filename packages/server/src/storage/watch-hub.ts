/**
 * In-process fan-out of committed changes to watchers.
 *
 * The API server is the only writer of its store, so every change passes through `publish` right after
 * it commits; watchers never poll the database. Each watcher has its own bounded buffer so a slow
 * consumer cannot stall writers: when the bound is exceeded the watcher is ended with
 * WatchOverflowError (the caller re-lists and watches again, like an etcd watch cancel).
 */
import type { WatchEvent } from "./backend.js";

/** Default per-watcher buffer bound, in events. */
export const DEFAULT_WATCH_BUFFER = 10_000;

/** Ends a watch whose consumer fell more than the buffer bound behind. */
export class WatchOverflowError extends Error {
  constructor(readonly limit: number) {
    super(`watcher fell more than ${limit} events behind; re-list and watch again`);
    this.name = "WatchOverflowError";
  }
}

/** Ends every watch (and rejects every operation) of a backend that was closed. */
export class BackendClosedError extends Error {
  constructor() {
    super("storage backend is closed");
    this.name = "BackendClosedError";
  }
}

/** One watcher's buffer of live events, filled by the hub and drained by the watch iterator. */
export class Subscription {
  private buffered: WatchEvent[][] = [];
  private size = 0;
  private waiter: (() => void) | undefined;
  /** Set once the subscription is ended; `error` says why (undefined: ended normally). */
  ended = false;
  error: Error | undefined;

  constructor(
    readonly prefix: string,
    private readonly limit: number,
    private readonly hub: WatchHub,
  ) {}

  /** Buffer the events under this watcher's prefix; ends the watcher if it overflows. */
  offer(events: readonly WatchEvent[]): void {
    if (this.ended) return;
    const mine = this.prefix === "" ? events.slice() : events.filter((e) => e.kv.key.startsWith(this.prefix));
    if (mine.length === 0) return;
    this.size += mine.length;
    if (this.size > this.limit) return this.end(new WatchOverflowError(this.limit));
    this.buffered.push(mine);
    this.wake();
  }

  /** Everything buffered so far as one batch (undefined when empty). */
  take(): WatchEvent[] | undefined {
    if (this.buffered.length === 0) return undefined;
    const out = this.buffered.length === 1 ? this.buffered[0] : this.buffered.flat();
    this.buffered = [];
    this.size = 0;
    return out;
  }

  /** Resolves when events arrive or the subscription ends. */
  wait(): Promise<void> {
    if (this.ended || this.buffered.length > 0) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = resolve));
  }

  /** Detach from the hub, drop the buffer (frees memory at once) and wake the iterator. */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    this.buffered = [];
    this.size = 0;
    this.hub.remove(this);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

/** Registry of live subscriptions of one backend. */
export class WatchHub {
  private readonly subs = new Set<Subscription>();

  constructor(private readonly bufferLimit = DEFAULT_WATCH_BUFFER) {}

  /** Start buffering live events under `prefix`. */
  subscribe(prefix: string): Subscription {
    const sub = new Subscription(prefix, this.bufferLimit, this);
    this.subs.add(sub);
    return sub;
  }

  /** Deliver one committed group of events (ascending revision) to every subscription. */
  publish(events: readonly WatchEvent[]): void {
    if (events.length === 0) return;
    for (const sub of this.subs) sub.offer(events);
  }

  /** Forget a subscription (called by Subscription.end). */
  remove(sub: Subscription): void {
    this.subs.delete(sub);
  }

  /** Number of live subscriptions (for tests and metrics). */
  get size(): number {
    return this.subs.size;
  }

  /** End every subscription, e.g. on close. */
  endAll(error?: Error): void {
    for (const sub of [...this.subs]) sub.end(error);
  }
}
