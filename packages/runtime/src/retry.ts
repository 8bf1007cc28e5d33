/**
 * retry: calls a one-off step (registering a host, a first connection) until it succeeds, on the same
 * schedule as a loop's error backoff, and gives up only when the process stops. Control loops do not need it
 * (their Controller retries); it is for the steps a component must finish before it counts as started.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "./reconcile/types.js";

/** Options of retry(). */
export interface RetryOptions {
  /** Aborting rejects the retry (with the last error) at once. */
  signal: AbortSignal;
  log: Logger;
  /** First delay after a failure (default 200 ms), doubled per failure up to maxDelayMs (default 5 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
}

/** Resolves with `fn`'s first success; logs each failure (with `what`) and waits before the next attempt. */
export async function retry<T>(what: string, fn: () => Promise<T>, o: RetryOptions): Promise<T> {
  const base = o.baseDelayMs ?? 200;
  const max = o.maxDelayMs ?? 5000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (o.signal.aborted) throw e;
      const retryInMs = Math.min(max, base * 2 ** Math.min(attempt - 1, 30));
      o.log.warn({ what, attempt, retryInMs, err: e instanceof Error ? e.message : String(e) }, "step failed; retrying");
      const stopped = await sleep(retryInMs, false, { signal: o.signal }).catch(() => true);
      if (stopped) throw e;
    }
  }
}
