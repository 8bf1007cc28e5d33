/**
 * WorkQueue: client-go's rate-limited work queue. Keys (usually `namespace/name`) are deduplicated
 * while waiting; a key being processed is never handed to a second worker, and a key added during
 * processing is queued again when `done` is called. Level-triggered controllers therefore see each
 * object at most once at a time and never miss the last change.
 */

/** Options of a WorkQueue. */
export interface WorkQueueOptions {
  /** First retry delay of addRateLimited (default 5 ms), doubled per failure... */
  baseDelayMs?: number;
  /** ...up to this cap (default 5 minutes). */
  maxDelayMs?: number;
}

/** Counters for /metrics and /debug/state. */
export interface WorkQueueStats {
  depth: number;
  processing: number;
  waiting: number;
  adds: number;
  retries: number;
}

/** A deduplicating FIFO of keys with delayed and exponentially backed-off re-adds. */
export class WorkQueue<T = string> {
  private readonly queue: T[] = [];
  private readonly dirty = new Set<T>();
  private readonly processing = new Set<T>();
  private readonly delayed = new Map<T, { at: number; timer: ReturnType<typeof setTimeout> }>();
  private readonly failures = new Map<T, number>();
  /** When each waiting item was first queued (the oldest-item-age metric: a stuck loop shows as a growing age). */
  private readonly queuedAt = new Map<T, number>();
  private waiters: (() => void)[] = [];
  private shuttingDown = false;
  private adds = 0;
  private retries = 0;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(o: WorkQueueOptions = {}) {
    this.baseDelayMs = o.baseDelayMs ?? 5;
    this.maxDelayMs = o.maxDelayMs ?? 5 * 60_000;
  }

  /** Queues `item` unless it is already waiting; an item being processed is re-queued on `done`. */
  add(item: T): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.adds++;
    this.dirty.add(item);
    this.queuedAt.set(item, Date.now());
    if (this.processing.has(item)) return;
    this.queue.push(item);
    this.waiters.shift()?.();
  }

  /** Adds `item` after `delayMs`; if it is already scheduled, the earlier time wins. */
  addAfter(item: T, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(item);
    const at = Date.now() + delayMs;
    const prev = this.delayed.get(item);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(item);
      this.add(item);
    }, delayMs);
    this.delayed.set(item, { at, timer });
  }

  /** Re-adds after failure: base·2^(n−1) for the n-th consecutive failure of `item`, capped. */
  addRateLimited(item: T): void {
    const n = (this.failures.get(item) ?? 0) + 1;
    this.failures.set(item, n);
    this.retries++;
    this.addAfter(item, this.backoffFor(n));
  }

  /** The delay addRateLimited uses for the n-th failure. */
  backoffFor(n: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** Math.min(n - 1, 40));
  }

  /** Clears the failure count of `item` (call after a successful reconcile). */
  forget(item: T): void {
    this.failures.delete(item);
  }

  /** Consecutive failures recorded for `item`. */
  numRequeues(item: T): number {
    return this.failures.get(item) ?? 0;
  }

  /** Waits for the next item; undefined after shutDown or when `signal` aborts. Call `done` when finished. */
  async get(signal?: AbortSignal): Promise<T | undefined> {
    for (;;) {
      if (this.queue.length > 0) {
        const item = this.queue.shift() as T;
        this.dirty.delete(item);
        this.queuedAt.delete(item);
        this.processing.add(item);
        return item;
      }
      if (this.shuttingDown || signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          this.waiters = this.waiters.filter((w) => w !== wake);
          resolve();
        };
        this.waiters.push(wake);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  /** Marks `item` processed; if it was added meanwhile it goes back into the queue now. */
  done(item: T): void {
    this.processing.delete(item);
    if (this.dirty.has(item) && !this.shuttingDown) {
      this.queue.push(item);
      this.waiters.shift()?.();
    }
  }

  /** Items waiting to be processed (the queue-depth metric). */
  len(): number {
    return this.queue.length;
  }

  /** Milliseconds the longest-waiting item has been queued (0 when none waits). */
  oldestAgeMs(now = Date.now()): number {
    let oldest = now;
    for (const at of this.queuedAt.values()) if (at < oldest) oldest = at;
    return now - oldest;
  }

  /** Counters for metrics. */
  stats(): WorkQueueStats {
    return {
      depth: this.queue.length,
      processing: this.processing.size,
      waiting: this.delayed.size,
      adds: this.adds,
      retries: this.retries,
    };
  }

  /** True after shutDown. */
  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops accepting items, cancels delayed adds and releases every waiting `get` with undefined. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    this.queue.length = 0;
    this.dirty.clear();
    this.queuedAt.clear();
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}
