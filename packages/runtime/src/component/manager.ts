/**
 * The component manager (controller-runtime's manager): a process is an ordered list of components. The
 * manager registers their metrics, starts them in order, stops them in reverse order, and when a start fails
 * part-way (a port that cannot bind) it stops everything already started, including the part that failed,
 * so nothing (watch, timer, process, open database) is left behind. /debug/state is built from the list.
 */
import type { Registry } from "prom-client";
import type { Logger } from "../reconcile/types.js";
import type { Component } from "./component.js";

type State = "pending" | "starting" | "running" | "stopping" | "stopped" | "failed";

interface Entry {
  c: Component;
  state: State;
  abort: AbortController;
  startedMs?: number;
  error?: string;
}

/** Starts and stops a process's components. */
export class ComponentManager {
  private readonly entries: Entry[] = [];
  private stopping?: Promise<void>;

  constructor(
    private readonly registry: Registry,
    private readonly log: Logger,
  ) {}

  /** Appends a component (started after those added before it); returns it for chaining. */
  add<C extends Component>(c: C): C {
    if (this.entries.some((e) => e.c.name === c.name)) throw new Error(`component ${c.name} added twice`);
    this.entries.push({ c, state: "pending", abort: new AbortController() });
    c.register?.(this.registry);
    return c;
  }

  /** Starts every pending component in order; on a failure, stops what started (reverse order) and rethrows. */
  async start(): Promise<void> {
    for (const e of this.entries) {
      if (e.state !== "pending") continue;
      e.state = "starting";
      const t0 = performance.now();
      try {
        await e.c.start(e.abort.signal);
        e.state = "running";
        e.startedMs = Math.round(performance.now() - t0);
      } catch (err) {
        e.state = "failed";
        e.error = err instanceof Error ? err.message : String(err);
        this.log.error({ part: e.c.name, err: e.error }, "component failed to start; stopping the ones already started");
        await this.stop();
        throw err;
      }
    }
  }

  /** Stops every started component in reverse order (also the one whose start failed). Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    for (const e of [...this.entries].reverse()) {
      if (e.state === "pending" || e.state === "stopped") continue;
      const failed = e.state === "failed";
      e.state = "stopping";
      e.abort.abort();
      try {
        await e.c.stop?.();
      } catch (err) {
        // Keep stopping the rest: one part failing to stop must not leave the others running.
        this.log.warn({ part: e.c.name, err: err instanceof Error ? err.message : String(err) }, "component failed to stop cleanly");
      }
      e.state = failed ? "failed" : "stopped";
    }
  }

  /** The component called `name`, if added. */
  get<C extends Component = Component>(name: string): C | undefined {
    return this.entries.find((e) => e.c.name === name)?.c as C | undefined;
  }

  /** /debug/state: each component's state and snapshot, in start order. */
  snapshot(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const e of this.entries) {
      let state: unknown;
      try {
        state = e.c.snapshot?.();
      } catch (err) {
        state = { snapshotError: err instanceof Error ? err.message : String(err) };
      }
      out[e.c.name] = state;
    }
    return out;
  }

  /** Lifecycle of every component (state, start time, error), for /debug/state and tests. */
  lifecycle(): { name: string; state: State; startMs?: number; error?: string }[] {
    return this.entries.map((e) => ({ name: e.c.name, state: e.state, startMs: e.startedMs, error: e.error }));
  }
}
