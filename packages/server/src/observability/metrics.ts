/**
 * The server's Prometheus metrics, created in one place and pre-initialised so every series exists from
 * the first scrape. Names follow kumo_<component>_<noun>_<unit>.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { BackendObserver } from "../storage/backend.js";

/** All server metrics on one registry. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "kumo_apiserver_requests_total",
    help: "API requests by verb, resource and HTTP code",
    labelNames: ["verb", "resource", "code"],
    registers: [this.registry],
  });
  readonly requestSeconds = new Histogram({
    name: "kumo_apiserver_request_duration_seconds",
    help: "API request latency (watches: time to first byte)",
    labelNames: ["verb", "resource"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly conflicts = new Counter({
    name: "kumo_apiserver_conflicts_total",
    help: "409 conflicts by field manager, resource and cause (stale resourceVersion or removal of another manager's fields)",
    labelNames: ["manager", "resource", "cause"],
    registers: [this.registry],
  });
  readonly forcedOverrides = new Counter({
    name: "kumo_apiserver_forced_ownership_overrides_total",
    help: "Writes that removed fields owned by another manager with force=true, by the manager that lost them",
    labelNames: ["manager", "resource"],
    registers: [this.registry],
  });
  readonly watchers = new Gauge({
    name: "kumo_apiserver_watchers",
    help: "Active watch streams by resource",
    labelNames: ["resource"],
    registers: [this.registry],
  });
  readonly inflight = new Gauge({ name: "kumo_apiserver_inflight_requests", help: "Requests being served", registers: [this.registry] });
  readonly storeSeconds = new Histogram({
    name: "kumo_storage_operation_duration_seconds",
    help: "Store operation latency by operation",
    labelNames: ["operation", "result"],
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly commitSeconds = new Histogram({
    name: "kumo_storage_commit_duration_seconds",
    help: "Durable commit latency of one write group",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
    registers: [this.registry],
  });
  readonly dbSize = new Gauge({ name: "kumo_storage_db_size_bytes", help: "Size of the database on disk", registers: [this.registry] });
  readonly revision = new Gauge({ name: "kumo_storage_revision", help: "Current store revision", registers: [this.registry] });
  readonly watchCacheEvents = new Gauge({
    name: "kumo_watch_cache_window_events",
    help: "Events held for watch resumption",
    registers: [this.registry],
  });
  /** Requests proxied to host agents (instance logs) by outcome; /debug/state and /metrics show these counts. */
  readonly agentProxyRequests = { ok: 0, not_found: 0, refused: 0, unreachable: 0 };
  readonly authFailures = new Counter({
    name: "kumo_apiserver_authentication_failures_total",
    help: "Requests rejected with 401",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "kumo_server_" });
    const ops = ["get", "list", "create", "update", "delete", "compact"];
    for (const operation of ops) for (const result of ["ok", "fail"]) this.storeSeconds.zero({ operation, result });
    this.conflicts.labels("none", "none", "stale").inc(0);
    this.counterFrom(
      "kumo_apiserver_agent_proxy_requests_total",
      "Requests proxied to host agents (instance logs) by outcome: ok, not_found, refused (agent answered an error), unreachable",
      () => this.agentProxyRequests,
      "outcome",
    );
  }

  /**
   * Exposes a counter a component already keeps (for /debug/state) as a Prometheus counter, read at scrape
   * time, so the component does not keep the same number twice.
   */
  counterFrom(name: string, help: string, read: () => number): void;
  /** The same for counts kept per label value (`{ ok: 3, refused: 1 }` → `{outcome="ok"} 3`, …). */
  counterFrom(name: string, help: string, read: () => Record<string, number>, labelName: string): void;
  counterFrom(name: string, help: string, read: () => number | Record<string, number>, labelName?: string): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      labelNames: labelName ? [labelName] : [],
      collect() {
        this.reset();
        const v = read();
        if (typeof v === "number") this.inc(v);
        else for (const [label, n] of Object.entries(v)) this.labels(label).inc(n);
      },
    });
  }

  /** Adapter handed to the storage backend. */
  backendObserver(): BackendObserver {
    return {
      observe: (op, seconds, ok) => {
        if (op === "commit") this.commitSeconds.observe(seconds);
        else this.storeSeconds.labels(op, ok ? "ok" : "fail").observe(seconds);
      },
    };
  }
}
