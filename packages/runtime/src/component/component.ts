/** The shape of everything a process starts (controller-runtime's Runnable): a name, a start, a stop, its state. */
import type { Registry } from "prom-client";

/**
 * A part of a process: an HTTP listener, a cache, a control loop, a driver. `start` resolves once the part is
 * ready (a port bound, a cache filled) or rejects if it cannot become ready, and the part owns what it starts
 * (watches, timers, child processes, files): `stop`, or the abort of `signal`, ends all of them. `stop` is
 * also called after a failed or partial `start`, so it must cope with a part that never finished starting.
 */
export interface Component {
  readonly name: string;
  /** Registers the part's metrics (called once, before start). */
  register?(registry: Registry): void;
  start(signal: AbortSignal): Promise<void>;
  stop?(): Promise<void>;
  /** State for /debug/state, under the component's name. */
  snapshot?(): unknown;
}

/** A component from plain functions (for parts that are not classes: a timer, a listener). */
export function component(name: string, parts: Omit<Component, "name">): Component {
  return { name, ...parts };
}
