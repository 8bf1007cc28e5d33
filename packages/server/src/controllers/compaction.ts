/**
 * Store compaction as a periodic loop: each tick compacts the history up to the revision the previous tick
 * saw, so one interval of history is kept and watchers more than one interval behind re-list (410), as in
 * Kubernetes. A failed compaction is retried with backoff (the same target), not skipped until the next tick.
 */
import { Controller, periodicSource } from "@kumo/runtime";
import type { Logger } from "pino";
import type { WatchCache } from "../registry/watch-cache.js";
import type { Backend } from "../storage/backend.js";

const TICK = "compact";

/** Compacts the store every `everyMs`. */
export class Compactor {
  readonly loop: Controller;
  compactedTo = 0;

  /** `keepFrom`: the store's revision now (the first tick compacts up to it). */
  constructor(
    private readonly backend: Backend,
    private readonly cache: WatchCache,
    log: Logger,
    everyMs: number,
    private keepFrom: number,
  ) {
    this.loop = new Controller({
      name: "compaction",
      log,
      sources: [periodicSource("every", everyMs, TICK, { atStart: false })],
      reconciler: () => this.compact(),
      debug: () => ({ everyMs, compactedTo: this.compactedTo, nextTarget: this.keepFrom }),
    });
  }

  private async compact(): Promise<void> {
    const target = this.keepFrom;
    const now = await this.backend.currentRevision();
    if (target > 0) {
      await this.backend.compact(target);
      this.cache.compacted(target);
      this.compactedTo = target;
    }
    this.keepFrom = now;
  }
}
