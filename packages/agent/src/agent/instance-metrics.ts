/**
 * Compute metrics of the agent (kumo_agent_instance*, kumo_agent_image_cache_*), registered on the
 * agent's registry. Counters and gauges read the manager's and the cache's own counters at scrape
 * time, so nothing else has to remember to update them; step latencies are observed as they happen.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { ImageCache } from "./image-cache.js";
import type { InstanceManager } from "./instances.js";

/** Instance and image-cache metrics. */
export class InstanceMetrics {
  readonly stepSeconds: Histogram<"kind" | "step">;

  constructor(registry: Registry, manager: () => InstanceManager | undefined, cache: Pick<ImageCache, "stats">) {
    const registers = [registry];
    this.stepSeconds = new Histogram({
      name: "kumo_agent_instance_step_seconds",
      help: "Time from the previous create-flow step to this one turning True (where start latency goes), by instance kind and step",
      labelNames: ["kind", "step"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    new Gauge({
      name: "kumo_agent_instances",
      help: "Instances bound to this host that should run (desired) vs runtimes running (running)",
      labelNames: ["state"],
      registers,
      collect() {
        const c = manager()?.counts();
        this.labels("desired").set(c?.desired ?? 0);
        this.labels("running").set(c?.running ?? 0);
      },
    });
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter("kumo_agent_image_cache_hits_total", "Image ensures served entirely from the cache", () => cache.stats.hits);
    counter("kumo_agent_image_cache_misses_total", "Image ensures that had to download at least one blob", () => cache.stats.misses);
    counter("kumo_agent_image_cache_downloaded_bytes_total", "Blob bytes downloaded and verified", () => cache.stats.downloadedBytes);
    counter(
      "kumo_agent_image_cache_checksum_failures_total",
      "Downloads discarded because the sha256 or size did not match",
      () => cache.stats.checksumFailures,
    );
    counter("kumo_agent_instance_failures_total", "Instance passes that failed (and backed off)", () => manager()?.counters.failures ?? 0);
    counter(
      "kumo_agent_instance_orphans_removed_total",
      "Runtimes removed because no instance claims them",
      () => manager()?.counters.orphansRemoved ?? 0,
    );
    counter(
      "kumo_agent_instance_adoptions_total",
      "Running runtimes found at start-up and adopted (not restarted)",
      () => manager()?.counters.adopted ?? 0,
    );
  }

  /** Records one step's latency. */
  observeStep(kind: string, step: string, ms: number): void {
    this.stepSeconds.labels(kind, step).observe(ms / 1000);
  }
}
