/** Helpers for the backend conformance suite (conformance.ts). */
import type { TestContext } from "node:test";
import type { Backend, WatchEvent } from "./backend.js";

/** A fresh, empty backend plus a function that closes it and removes everything it created. */
export interface BackendFixture {
  backend: Backend;
  cleanup: () => Promise<void>;
}

/** Creates a fresh backend for one test. */
export type BackendFactory = () => Promise<BackendFixture>;

/** Open a fresh backend for test `t`; cleanup is registered with `t.after`, so it runs on failure too. */
export async function open(t: TestContext, factory: BackendFactory): Promise<Backend> {
  const { backend, cleanup } = await factory();
  t.after(cleanup);
  return backend;
}

/**
 * Iterate a watch until `count` events arrived, it ended, or `ms` passed (then the signal is aborted
 * so the watch cannot outlive the test). `pauseMs` simulates a slow consumer. Returns the batches seen
 * and whether iteration ended by itself.
 */
export async function collect(
  watch: AsyncIterable<WatchEvent[]>,
  ctl: AbortController,
  count: number,
  ms = 5000,
  pauseMs = 0,
): Promise<{ events: WatchEvent[]; batches: WatchEvent[][]; ended: boolean }> {
  const iter = watch[Symbol.asyncIterator]();
  const batches: WatchEvent[][] = [];
  const events: WatchEvent[] = [];
  const timer = setTimeout(() => ctl.abort(), ms);
  let ended = false;
  try {
    while (events.length < count) {
      const r = await iter.next();
      if (r.done) {
        ended = true;
        break;
      }
      batches.push(r.value);
      events.push(...r.value);
      if (pauseMs > 0) await sleep(pauseMs);
    }
  } finally {
    clearTimeout(timer);
  }
  if (!ended) await iter.return?.(undefined);
  return { events, batches, ended };
}

/** Revisions of a list of events (kv.modRevision is the revision of the change, also for DELETE). */
export function revisions(events: readonly WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

/** [from, from+1, ..., to]. */
export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Resolve after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
