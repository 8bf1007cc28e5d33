/**
 * The loop behind every live list: list, watch from the list's resourceVersion, fold events through
 * `applyWatchEvent`, relist after 410, back off and surface the API's message on any other error.
 * I/O lives here so the reducer stays pure; the client is injected so tests use the client's FakeApi.
 */
import type { KObject, WatchEvent } from "@kumo/api";
import { isGone, type KumoClient, type ResourceType } from "@kumo/client";
import { applyWatchEvent, fromList, type ListState } from "./watch-reducer.js";

/** What to list and watch. */
export interface ListWatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Backoff after a failure: doubles from min to max (defaults 1 s → 10 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Callbacks: a new state, or an error (undefined once the loop recovered). */
export interface ListWatchSink<T extends KObject> {
  state(s: ListState<T>): void;
  error(e: unknown | undefined): void;
}

const GONE_EVENT: WatchEvent<unknown> = { type: "ERROR", object: { kind: "Status", code: 410, reason: "Expired" } };

/** Runs until `signal` aborts; never rejects. */
export async function runListWatch<T extends KObject>(
  client: KumoClient,
  rt: ResourceType,
  o: ListWatchOptions,
  sink: ListWatchSink<T>,
  signal: AbortSignal,
): Promise<void> {
  const min = o.minBackoffMs ?? 1000;
  const max = o.maxBackoffMs ?? 10_000;
  let failures = 0;
  let fruitlessGones = 0;
  while (!signal.aborted) {
    try {
      let state = fromList(
        await client.listAll<T>(rt, o.namespace, { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector, signal }),
      );
      const listedAt = state.resourceVersion;
      sink.state(state);
      if (failures) sink.error(undefined);
      failures = 0;
      // A stream the server ends cleanly (timeout) resumes from the newest version seen.
      let quickEnds = 0;
      while (!signal.aborted && !state.expired) {
        const started = Date.now();
        let progressed = false;
        try {
          for await (const ev of client.watch<T>(rt, o.namespace, {
            resourceVersion: state.resourceVersion,
            labelSelector: o.labelSelector,
            fieldSelector: o.fieldSelector,
            allowWatchBookmarks: true,
            signal,
          })) {
            progressed = true;
            const next = applyWatchEvent(state, ev);
            if (next !== state) sink.state((state = next));
          }
        } catch (e) {
          if (!isGone(e)) throw e;
          // The client turns the ERROR event into an exception; hand the reducer the event it stands for.
          sink.state((state = applyWatchEvent(state, GONE_EVENT)));
        }
        // A server that ends every watch at once (or an answer the reducer ignores) must not make this spin.
        quickEnds = !progressed && Date.now() - started < 1000 ? quickEnds + 1 : 0;
        if (quickEnds && !state.expired) await sleep(Math.min(max, min * 2 ** (quickEnds - 1)), signal);
      }
      // The first 410 relists at once (routine after a long disconnect). 410 again right after a relist
      // means the server keeps compacting past us: relisting in a tight loop would hammer it (and
      // starve the page), so back off, without showing an error for what the API calls routine.
      fruitlessGones = state.resourceVersion === listedAt ? fruitlessGones + 1 : 0;
      if (fruitlessGones > 1) await sleep(Math.min(max, min * 2 ** (fruitlessGones - 2)), signal);
    } catch (e) {
      if (signal.aborted) return;
      sink.error(e);
      await sleep(Math.min(max, min * 2 ** failures++), signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
