/**
 * Turns successive /metrics scrapes (plus host status, for drift repairs, which agents report there)
 * into chart points. Rates and latency quantiles need two scrapes, so the caller keeps the previous one.
 */
import { bucketDelta, bucketsOf, histogramQuantile, sumBy, type Scrape } from "./prom.js";

/** One point of a line. */
export interface Point {
  t: number;
  v: number;
}

/** What one chart shows. */
export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
}

/** The charts of the Metrics view, in display order. */
export const CHARTS: ChartSpec[] = [
  { id: "latency", title: "API latency (excluding watch)", unit: "ms" },
  { id: "requests", title: "API requests by verb", unit: "req/s" },
  { id: "conflicts", title: "409 conflicts by field manager (total)", unit: "count" },
  { id: "watchers", title: "Open watches by resource", unit: "watches" },
  { id: "queue", title: "Reconcile queue depth", unit: "items" },
  { id: "heartbeat", title: "Host heartbeat age", unit: "s" },
  { id: "drift", title: "Dataplane drift repairs by host (total)", unit: "repairs" },
];

/** chart id → series label → value, for one sampling instant. */
export type Frame = Record<string, Record<string, number>>;

/** chart id → series label → points. */
export type History = Record<string, Record<string, Point[]>>;

/** A scrape taken at `t` (ms since epoch). */
export interface TimedScrape {
  t: number;
  scrape: Scrape;
}

/** The minimal host shape read here. */
export interface HostLike {
  metadata: { name?: string };
  status?: { dataplane?: { driftRepairsTotal?: number } };
}

/** Computes one frame from the current scrape, the previous one (for rates) and the hosts. */
export function deriveFrame(cur: TimedScrape, prev: TimedScrape | undefined, hosts: HostLike[]): Frame {
  const s = cur.scrape.samples;
  const f: Frame = {};
  const notWatch = (l: Record<string, string>) => l.verb !== "watch";
  if (prev) {
    const d = bucketDelta(
      bucketsOf(s, "kumo_apiserver_request_duration_seconds", notWatch),
      bucketsOf(prev.scrape.samples, "kumo_apiserver_request_duration_seconds", notWatch),
    );
    f.latency = {};
    for (const [label, q] of [
      ["p50", 0.5],
      ["p99", 0.99],
    ] as const) {
      const v = histogramQuantile(q, d);
      if (v !== undefined) f.latency[label] = v * 1000;
    }
    const dt = (cur.t - prev.t) / 1000;
    const before = sumBy(prev.scrape.samples, "kumo_apiserver_requests_total", ["verb"]);
    f.requests = {};
    if (dt > 0)
      for (const [verb, n] of sumBy(s, "kumo_apiserver_requests_total", ["verb"]))
        f.requests[verb] = Math.max(0, n - (before.get(verb) ?? 0)) / dt;
  }
  // The server pre-creates manager="none" so the series exists; it is not a real writer.
  f.conflicts = Object.fromEntries(sumBy(s, "kumo_apiserver_conflicts_total", ["manager"], (l) => l.manager !== "none"));
  f.watchers = Object.fromEntries(sumBy(s, "kumo_apiserver_watchers", ["resource"]));
  f.heartbeat = Object.fromEntries(sumBy(s, "kumo_host_heartbeat_age_seconds", ["host"]));
  const queue = s.filter((x) => /queue_depth$/.test(x.name));
  // kumo_controller_queue_depth{controller} per controller, kumo_scheduler_queue_depth: label by who owns the queue.
  if (queue.length)
    f.queue = Object.fromEntries(
      queue.map((x) => [x.labels.controller ?? x.labels.name ?? x.name.replace(/^kumo_/, "").replace(/_queue_depth$/, ""), x.value]),
    );
  f.drift = {};
  for (const h of hosts) {
    const n = h.status?.dataplane?.driftRepairsTotal;
    if (n !== undefined && h.metadata.name) f.drift[h.metadata.name] = n;
  }
  return f;
}

/** Appends a frame, keeping the newest `max` points per series (a fixed window keeps memory flat). */
export function appendFrame(h: History, t: number, frame: Frame, max = 120): History {
  const out: History = { ...h };
  for (const [chart, values] of Object.entries(frame)) {
    const series = { ...(out[chart] ?? {}) };
    for (const [label, v] of Object.entries(values)) {
      if (!Number.isFinite(v)) continue;
      series[label] = [...(series[label] ?? []), { t, v }].slice(-max);
    }
    out[chart] = series;
  }
  return out;
}
