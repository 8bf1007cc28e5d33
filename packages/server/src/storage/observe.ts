/** Latency reporting helpers shared by the backends. */
import { performance } from "node:perf_hooks";
import type { BackendObserver } from "./backend.js";

/**
 * Report one operation to the observer. `ok` is false only when the operation threw: a lost CAS race
 * is a normal result, not an error. A throwing observer must never break storage, so it is ignored.
 */
export function report(observer: BackendObserver | undefined, op: string, startMs: number, ok: boolean): void {
  if (!observer) return;
  try {
    observer.observe(op, (performance.now() - startMs) / 1000, ok);
  } catch {
    // metrics are best effort
  }
}

/** Run `fn`, reporting its latency and whether it threw. */
export async function timed<T>(observer: BackendObserver | undefined, op: string, fn: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    const out = await fn();
    report(observer, op, start, true);
    return out;
  } catch (err) {
    report(observer, op, start, false);
    throw err;
  }
}

/** Milliseconds since an arbitrary origin, for use with `report`. */
export const now = (): number => performance.now();
