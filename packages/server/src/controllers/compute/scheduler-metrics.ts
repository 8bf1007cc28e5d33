/**
 * Scheduler metrics, created once per registry and shared by every Scheduler on it (tests and HA run
 * several), pre-initialised so each series exists from the first scrape.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import { FILTER_ORDER } from "./filters.js";

/** Decision outcomes (the `result` label). */
export const DECISION_RESULTS = ["scheduled", "unschedulable", "conflict", "error"] as const;

/** Failure reasons besides the filter names (the `reason` label). */
export const FAILURE_REASONS = ["ImageNotFound", "ReservationRefused", "BindConflict", "ReleaseFailed", "Error", ...FILTER_ORDER] as const;

/** The scheduler metric set. */
export interface SchedulerMetrics {
  queueDepth: Gauge;
  decisions: Counter;
  decisionSeconds: Histogram;
  failures: Counter;
  /** Queue lengths of the live schedulers, summed by the gauge at scrape time. */
  queues: Set<() => number>;
}

const byRegistry = new WeakMap<Registry, SchedulerMetrics>();

/** The scheduler metrics of `registry` (created on first use). */
export function schedulerMetrics(registry: Registry): SchedulerMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  const queues = new Set<() => number>();
  m = {
    queues,
    queueDepth: new Gauge({
      name: "kumo_scheduler_queue_depth",
      help: "Instances waiting for a scheduling decision",
      registers: [registry],
      collect() {
        let n = 0;
        for (const q of queues) n += q();
        this.set(n);
      },
    }),
    decisions: new Counter({
      name: "kumo_scheduler_decisions_total",
      help: "Scheduling decisions by result",
      labelNames: ["result"],
      registers: [registry],
    }),
    decisionSeconds: new Histogram({
      name: "kumo_scheduler_decision_duration_seconds",
      help: "Time from taking an instance off the queue to its binding (or refusal) being stored",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    failures: new Counter({
      name: "kumo_scheduler_failures_total",
      help: "Scheduling failures by reason (filter that excluded the most hosts, image, or commit conflict)",
      labelNames: ["reason"],
      registers: [registry],
    }),
  };
  for (const r of DECISION_RESULTS) m.decisions.labels(r).inc(0);
  for (const r of FAILURE_REASONS) m.failures.labels(r).inc(0);
  byRegistry.set(registry, m);
  return m;
}

/** The last `size` decision latencies, for exact percentiles in /debug/state and the bench. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private next = 0;
  private filled = 0;

  constructor(size = 8192) {
    this.samples = new Float64Array(size);
  }

  /** Records one latency in milliseconds. */
  push(ms: number): void {
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % this.samples.length;
    this.filled = Math.min(this.filled + 1, this.samples.length);
  }

  /** The q-quantile (0..1) of the recorded latencies, in ms (0 when empty). */
  quantile(q: number): number {
    if (!this.filled) return 0;
    const sorted = Array.from(this.samples.subarray(0, this.filled)).sort((a, b) => a - b);
    return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1))];
  }

  /** Forgets every sample. */
  clear(): void {
    this.next = 0;
    this.filled = 0;
  }

  /** Number of samples held. */
  get count(): number {
    return this.filled;
  }
}
