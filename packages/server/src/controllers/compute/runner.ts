/**
 * The reconcile loop, written once (controller-runtime's reconcileHandler): workers take keys from a
 * deduplicating WorkQueue, a reconcile returns (done, or requeue after a delay) or throws (retried with
 * exponential backoff), and every outcome is counted and timed. Reconcilers only hold the logic.
 */
import { setMaxListeners } from "node:events";
import { WorkQueue } from "@kumo/client";
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** Level-triggered: called with a key whenever anything about it may have changed; must converge from any state. */
export interface Reconciler {
  reconcile(key: string): Promise<{ requeueAfterMs?: number } | void>;
}

/** The shared controller metrics of one registry (several runners label them by controller). */
interface RunnerMetrics {
  reconciles: Counter;
  seconds: Histogram;
  depth: Gauge;
  runners: Set<Runner>;
}

const metricsByRegistry = new WeakMap<Registry, RunnerMetrics>();

function metricsFor(registry: Registry): RunnerMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const runners = new Set<Runner>();
  m = {
    runners,
    reconciles: new Counter({ name: "kumo_controller_reconcile_total", help: "Reconciles by controller and result (success, requeue, error)", labelNames: ["controller", "result"], registers: [registry] }),
    seconds: new Histogram({ name: "kumo_controller_reconcile_duration_seconds", help: "Reconcile latency by controller", labelNames: ["controller"], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry] }),
    depth: new Gauge({
      name: "kumo_controller_queue_depth", help: "Keys waiting in each controller's work queue", labelNames: ["controller"], registers: [registry],
      collect() {
        for (const r of runners) this.labels(r.name).set(r.queue.len());
      },
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/** Options of a Runner. */
export interface RunnerOptions {
  workers?: number;
  /** First retry delay after an error (doubles per consecutive failure)... */
  baseDelayMs?: number;
  /** ...up to this. */
  maxDelayMs?: number;
}

/** Runs a Reconciler over a work queue. */
export class Runner {
  readonly queue: WorkQueue<string>;
  private readonly m: RunnerMetrics;
  private readonly abort = new AbortController();
  private readonly lastErrors = new Map<string, string>();
  private workers: Promise<void>[] = [];

  constructor(readonly name: string, private readonly reconciler: Reconciler, registry: Registry, private readonly log: Logger, private readonly opts: RunnerOptions = {}) {
    this.queue = new WorkQueue<string>({ baseDelayMs: opts.baseDelayMs ?? 200, maxDelayMs: opts.maxDelayMs ?? 30_000 });
    this.m = metricsFor(registry);
    for (const r of ["success", "requeue", "error"]) this.m.reconciles.labels(name, r);
    this.m.runners.add(this);
  }

  /** Queues a key now. */
  add(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers. */
  start(): void {
    const n = this.opts.workers ?? 4;
    setMaxListeners(n + 10, this.abort.signal); // every idle worker waits on the signal
    for (let i = 0; i < n; i++) this.workers.push(this.work());
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get(this.abort.signal);
      if (key === undefined) return;
      const start = performance.now();
      try {
        const res = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        this.lastErrors.delete(key);
        if (res?.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, res.requeueAfterMs);
          this.m.reconciles.labels(this.name, "requeue").inc();
        } else this.m.reconciles.labels(this.name, "success").inc();
      } catch (e) {
        const msg = e instanceof Error ? e.message : String(e);
        this.lastErrors.set(key, msg);
        this.m.reconciles.labels(this.name, "error").inc();
        this.log.warn({ controller: this.name, key, err: msg, retries: this.queue.numRequeues(key) }, "reconcile failed; retrying with backoff");
        this.queue.addRateLimited(key);
      } finally {
        this.m.seconds.labels(this.name).observe((performance.now() - start) / 1000);
        this.queue.done(key);
      }
    }
  }

  /** Stops taking keys and waits for the running reconciles to finish. */
  async stop(): Promise<void> {
    this.abort.abort();
    this.queue.shutDown();
    await Promise.allSettled(this.workers);
    this.m.runners.delete(this);
  }

  /** State for /debug/state. */
  snapshot() {
    return { queue: this.queue.stats(), failing: Object.fromEntries([...this.lastErrors].slice(0, 20)) };
  }
}
