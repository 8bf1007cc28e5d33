/**
 * The one reconcile runtime (controller-runtime's controller + reconcileHandler): sources feed keys into a
 * deduplicating, rate-limited WorkQueue; N workers take keys and call the Reconciler; every outcome (done,
 * requeue-after, error with backoff, terminal error, a synchronous throw) is caught, counted, timed and shown
 * in /debug/state here, so a loop holds only its logic. A key is never reconciled by two workers at once.
 */
import { setMaxListeners } from "node:events";
import { WorkQueue } from "@kumo/client";
import type { Registry } from "prom-client";
import type { Component } from "../component/component.js";
import { type LoopMetrics, type ReconcileOutcome, RESULTS, loopMetrics } from "./metrics.js";
import {
  type Enqueue,
  type Logger,
  type ReconcileContext,
  type ReconcileResult,
  type Reconciler,
  type Source,
  isTerminal,
} from "./types.js";

/** Options of a Controller. */
export interface ControllerOptions {
  /** The loop's name: metric label, log field, /debug/state key. */
  name: string;
  reconciler: Reconciler | Reconciler["reconcile"];
  /** Where keys come from (informers, timers); started in order before the workers. */
  sources?: Source[];
  /** Concurrent reconciles (default 1). */
  workers?: number;
  /** First retry delay after an error (default 200 ms), doubled per consecutive failure up to maxDelayMs (30 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  log: Logger;
  /**
   * While a key waits out its error backoff, adds (events, resyncs, other loops) do not run it early; it runs
   * when the backoff ends. Default false: an add retries at once, as in client-go. For loops whose own
   * failure report causes an event (a status write) or whose resync is shorter than the backoff cap.
   */
  backoffHoldsEvents?: boolean;
  /** The loop's own view for /debug/state (caches, counters), shown beside the runtime's. */
  debug?: () => unknown;
}

/** A failing key as /debug/state shows it. */
export interface Failure {
  message: string;
  at: string;
  failures: number;
  terminal: boolean;
}

const RECENT = 20;

/** A named control loop: sources → queue → workers → reconciler. */
export class Controller implements Component {
  readonly name: string;
  readonly queue: WorkQueue<string>;
  private readonly reconcileFn: Reconciler["reconcile"];
  private readonly sources: Source[];
  private readonly failing = new Map<string, Failure>();
  private readonly inFlight = new Map<string, number>();
  /** Keys backing off after an error: when their retry is due (only kept with backoffHoldsEvents). */
  private readonly backoffUntil = new Map<string, number>();
  private readonly recent: { key: string; result: ReconcileOutcome; ms: number; at: string }[] = [];
  private readonly counts: Record<ReconcileOutcome, number> = { success: 0, requeue: 0, error: 0, terminal: 0 };
  private metrics?: LoopMetrics;
  private abort?: AbortController;
  private workers: Promise<void>[] = [];
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly o: ControllerOptions) {
    this.name = o.name;
    this.sources = o.sources ?? [];
    const r = o.reconciler;
    this.reconcileFn = typeof r === "function" ? r : r.reconcile.bind(r);
    this.queue = new WorkQueue<string>({ baseDelayMs: o.baseDelayMs ?? 200, maxDelayMs: o.maxDelayMs ?? 30_000 });
  }

  /** Queues `key` now (deduplicated with any waiting copy). */
  add(key: string): void {
    if (!this.held(key, 0)) this.queue.add(key);
  }

  /** Queues `key` after `delayMs`. */
  addAfter(key: string, delayMs: number): void {
    if (!this.held(key, delayMs)) this.queue.addAfter(key, delayMs);
  }

  /** True when `key` is backing off past `delayMs` from now and the loop lets backoff hold events. */
  private held(key: string, delayMs: number): boolean {
    const until = this.backoffUntil.get(key);
    return until !== undefined && Date.now() + delayMs < until;
  }

  /** Registers the loop's metrics (the component manager calls this before start). */
  register(registry: Registry): void {
    this.metrics = loopMetrics(registry);
    // Series exist from the first scrape (prom-client's labels() alone creates none): a rate over them works at once.
    for (const r of RESULTS) this.metrics.reconciles.labels(this.name, r).inc(0);
    this.metrics.seconds.zero({ controller: this.name });
    this.metrics.loops.add(this);
  }

  /** Starts the sources (each delivers its initial state first), then the workers. Stops when `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const abort = (this.abort = new AbortController());
    const n = this.o.workers ?? 1;
    setMaxListeners(n + this.sources.length + 16, abort.signal); // every idle worker and source waits on it
    if (signal.aborted) abort.abort();
    else signal.addEventListener("abort", () => abort.abort(), { once: true, signal: abort.signal });
    const enqueue: Enqueue = Object.assign((key: string) => this.add(key), { after: (key: string, ms: number) => this.addAfter(key, ms) });
    for (const s of this.sources) await s.start(abort.signal, enqueue);
    for (let i = 0; i < n; i++) this.workers.push(this.work(abort.signal));
  }

  /** Stops taking keys, stops the sources and waits for running reconciles and the sources' own work to finish. */
  async stop(): Promise<void> {
    this.abort?.abort();
    this.queue.shutDown();
    await Promise.allSettled(this.workers);
    await Promise.allSettled(this.sources.map((s) => s.stop?.() ?? Promise.resolve()));
    this.workers = [];
    this.metrics?.loops.delete(this);
  }

  private async work(signal: AbortSignal): Promise<void> {
    for (;;) {
      const key = await this.queue.get(signal);
      if (key === undefined) return;
      await this.reconcileOne(key, signal);
      this.queue.done(key);
      if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** Runs one reconcile and records its outcome; never throws. */
  private async reconcileOne(key: string, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    this.inFlight.set(key, Date.now());
    const attempt = this.queue.numRequeues(key);
    const log = bindLog(this.o.log, { controller: this.name, key });
    const ctx: ReconcileContext = { signal, attempt, log };
    let outcome: ReconcileOutcome;
    try {
      // Through a promise so a synchronous throw of the reconciler is caught like a rejection.
      const res: ReconcileResult = await Promise.resolve().then(() => this.reconcileFn(ctx, key));
      this.failing.delete(key);
      this.backoffUntil.delete(key);
      if (res && "requeue" in res && res.requeue) {
        // Keeps the key's failure count: each such requeue waits twice as long as the one before.
        if (!signal.aborted) this.queue.addRateLimited(key);
        outcome = "requeue";
      } else if (res && "requeueAfterMs" in res && res.requeueAfterMs >= 0) {
        this.queue.forget(key);
        this.queue.addAfter(key, res.requeueAfterMs);
        outcome = "requeue";
      } else {
        this.queue.forget(key);
        outcome = "success";
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const terminal = isTerminal(e);
      outcome = terminal ? "terminal" : "error";
      const failures = attempt + 1;
      this.failing.set(key, { message, at: new Date().toISOString(), failures, terminal });
      if (this.failing.size > 200) this.failing.delete(this.failing.keys().next().value!);
      if (terminal) {
        this.backoffUntil.delete(key);
        this.queue.forget(key);
        log.error({ err: message }, "reconcile failed with a terminal error; not retried until the object changes");
      } else if (!signal.aborted) {
        if (this.o.backoffHoldsEvents) this.backoffUntil.set(key, Date.now() + this.queue.backoffFor(failures));
        this.queue.addRateLimited(key);
        log.warn({ err: message, failures, retryInMs: this.queue.backoffFor(failures) }, "reconcile failed; retrying with backoff");
      }
    }
    const ms = performance.now() - started;
    this.inFlight.delete(key);
    this.counts[outcome]++;
    this.metrics?.reconciles.labels(this.name, outcome).inc();
    this.metrics?.seconds.labels(this.name).observe(ms / 1000);
    this.recent.push({ key, result: outcome, ms: Math.round(ms * 10) / 10, at: new Date().toISOString() });
    if (this.recent.length > RECENT) this.recent.shift();
  }

  private isIdle(): boolean {
    const s = this.queue.stats();
    return s.depth === 0 && s.processing === 0;
  }

  /** Resolves once no key is queued or being reconciled (delayed keys do not count). For tests and benchmarks. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Work-queue counters (metrics). */
  queueStats() {
    return this.queue.stats();
  }

  /** Seconds the longest-waiting key has waited. */
  oldestAgeSeconds(): number {
    return this.queue.oldestAgeMs() / 1000;
  }

  /** Reconciles running now. */
  busyWorkers(): number {
    return this.inFlight.size;
  }

  /** Reconcile counts by outcome since start. */
  outcomes(): Readonly<Record<ReconcileOutcome, number>> {
    return this.counts;
  }

  /** State for /debug/state: the queue, outcomes, failing keys, what runs now, recent reconciles, sources, the loop's own view. */
  snapshot() {
    const now = Date.now();
    return {
      workers: this.o.workers ?? 1,
      queue: { ...this.queue.stats(), oldestAgeSeconds: this.oldestAgeSeconds() },
      reconciles: { ...this.counts },
      failing: Object.fromEntries([...this.failing].slice(-50)),
      inFlight: Object.fromEntries([...this.inFlight].map(([k, at]) => [k, { forSeconds: (now - at) / 1000 }])),
      recent: [...this.recent],
      sources: Object.fromEntries(this.sources.map((s) => [s.name, s.snapshot?.() ?? {}])),
      ...(this.o.debug ? { state: this.o.debug() } : {}),
    };
  }
}

/** A logger that adds `bound` to every line (cheap: nothing is built unless a line is logged). */
function bindLog(log: Logger, bound: object): Logger {
  return {
    info: (f, m) => log.info({ ...bound, ...f }, m),
    warn: (f, m) => log.warn({ ...bound, ...f }, m),
    error: (f, m) => log.error({ ...bound, ...f }, m),
  };
}
