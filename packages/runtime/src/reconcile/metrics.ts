/**
 * Per-loop metrics, registered once per Prometheus registry and labelled by controller, so every loop in a
 * process (server or agent) is measured the same way without a line of metrics code in the loop itself.
 * Gauges and counters the queue already keeps are read at scrape time.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { WorkQueueStats } from "@kumo/client";

/** What the metrics read from a running loop at scrape time. */
export interface MeasuredLoop {
  readonly name: string;
  queueStats(): WorkQueueStats;
  oldestAgeSeconds(): number;
  busyWorkers(): number;
}

/** The loop metrics of one registry. */
export interface LoopMetrics {
  reconciles: Counter;
  seconds: Histogram;
  loops: Set<MeasuredLoop>;
}

/** Results a reconcile is counted under. */
export const RESULTS = ["success", "requeue", "error", "terminal"] as const;
/** One of RESULTS. */
export type ReconcileOutcome = (typeof RESULTS)[number];

const byRegistry = new WeakMap<Registry, LoopMetrics>();

/** The loop metrics of `registry`, created on first use. */
export function loopMetrics(registry: Registry): LoopMetrics {
  const existing = byRegistry.get(registry);
  if (existing) return existing;
  const loops = new Set<MeasuredLoop>();
  const gauge = (name: string, help: string, read: (l: MeasuredLoop) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ["controller"],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of loops) this.labels(l.name).set(read(l));
      },
    });
  const counter = (name: string, help: string, read: (l: MeasuredLoop) => number) =>
    new Counter({
      name,
      help,
      labelNames: ["controller"],
      registers: [registry],
      collect() {
        this.reset();
        for (const l of loops) this.labels(l.name).inc(read(l));
      },
    });
  gauge("kumo_controller_queue_depth", "Keys waiting in each control loop's work queue", (l) => l.queueStats().depth);
  gauge("kumo_controller_queue_delayed", "Keys each loop will queue later (requeue-after or backoff)", (l) => l.queueStats().waiting);
  gauge("kumo_controller_queue_oldest_item_age_seconds", "How long the longest-waiting key has waited (grows when a loop is stuck)", (l) =>
    l.oldestAgeSeconds(),
  );
  gauge("kumo_controller_active_workers", "Reconciles running now, per loop", (l) => l.busyWorkers());
  counter("kumo_controller_queue_adds_total", "Keys added to each loop's queue", (l) => l.queueStats().adds);
  counter("kumo_controller_queue_retries_total", "Keys re-queued with backoff after a failed reconcile", (l) => l.queueStats().retries);
  const m: LoopMetrics = {
    loops,
    reconciles: new Counter({
      name: "kumo_controller_reconcile_total",
      help: "Reconciles by loop and result (success, requeue, error, terminal)",
      labelNames: ["controller", "result"],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: "kumo_controller_reconcile_duration_seconds",
      help: "Reconcile latency by loop",
      labelNames: ["controller"],
      registers: [registry],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30],
    }),
  };
  byRegistry.set(registry, m);
  return m;
}
