/**
 * The contract of a control loop, as controller-runtime's `reconcile.Reconciler`: level-triggered, called
 * with a key whenever anything about it may have changed, and it must converge from any state. It returns
 * (done), returns `requeueAfter` (look again later), throws (retried with exponential backoff) or throws a
 * `TerminalError` (counted and shown, never retried until the key is queued again by a change).
 */

/** Structured logger (pino's shape): the runtime logs constant messages with variables in fields. */
export interface Logger {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

/** What one reconcile gets besides its key. */
export interface ReconcileContext {
  /** Aborts when the loop stops: long reconciles should pass it on to their I/O. */
  signal: AbortSignal;
  /** Consecutive failures of this key before this attempt (0 on a first or post-success attempt). */
  attempt: number;
  /** The loop's logger, with `controller` and `key` fields bound. */
  log: Logger;
}

/**
 * The outcome of a reconcile that did not throw: done; look again after a fixed delay; or `requeue: true`,
 * look again with the key's growing backoff (controller-runtime's `Result{Requeue: true}`): for a wait that
 * is not an error of the loop (an instance that fits no host yet), so it is not logged or counted as one.
 */
export type ReconcileResult = void | undefined | { requeueAfterMs: number } | { requeue: true };

/** A level-triggered control loop body. */
export interface Reconciler {
  reconcile(ctx: ReconcileContext, key: string): Promise<ReconcileResult>;
}

/** An error retrying cannot fix (bad input, a missing prerequisite only a user can add): not retried. */
export class TerminalError extends Error {
  override readonly name = "TerminalError";
}

/** True for a TerminalError, also one from another copy of this module. */
export function isTerminal(e: unknown): boolean {
  return e instanceof TerminalError || (e instanceof Error && e.name === "TerminalError");
}

/** Where a controller's keys come from: a watch, a timer, another loop. */
export interface Source {
  /** Shown in /debug/state. */
  readonly name: string;
  /**
   * Starts feeding keys to `enqueue`; resolves once the source has delivered its initial state (an
   * informer's first list), so a loop's workers only start on a full cache. Stops when `signal` aborts.
   */
  start(signal: AbortSignal, enqueue: Enqueue): Promise<void>;
  /** Resolves once work the source still had running when `signal` aborted (a relist, a retry) has ended. */
  stop?(): Promise<void>;
  /** State for /debug/state (object counts, resourceVersion, relists). */
  snapshot?(): unknown;
}

/** How sources hand keys to their loop. */
export interface Enqueue {
  (key: string): void;
  /** Queues `key` after `delayMs` (earliest wins). */
  after(key: string, delayMs: number): void;
}
