/**
 * The watch iterator shared by the memory and sqlite backends: history from the backend's log, then
 * live events from the hub, without gaps or duplicates.
 *
 * Gap-freedom comes from subscribing *before* reading history: anything committed after the subscribe
 * is buffered, anything before it is in the log. Overlap between the two is removed by revision.
 */
import { CompactedError, type WatchEvent, type WatchOptions } from "./backend.js";
import type { WatchHub } from "./watch-hub.js";

/** Events per history batch, so replaying a long history neither blocks the loop nor builds one huge array. */
export const HISTORY_PAGE = 1000;

/** What a backend provides to the watch iterator. All calls are synchronous reads of committed state. */
export interface HistorySource {
  /** Last committed revision. */
  revision(): number;
  /** Revisions <= this are no longer in the log. */
  compactRevision(): number;
  /** Events under `prefix` with after < revision <= upTo, ascending, at most `limit`. */
  history(prefix: string, after: number, upTo: number, limit: number): WatchEvent[];
}

/** Implements Backend.watch on top of a hub and a history source. */
export async function* watchStream(hub: WatchHub, source: HistorySource, prefix: string, opts: WatchOptions): AsyncGenerator<WatchEvent[]> {
  const { signal, afterRevision } = opts;
  if (signal.aborted) return;
  const sub = hub.subscribe(prefix);
  // Ending the subscription on abort (not only waking the loop) frees the buffer even if the consumer
  // never calls next() again.
  const onAbort = (): void => sub.end();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    let last = afterRevision;
    const end = source.revision();
    while (last < end) {
      const compacted = source.compactRevision();
      if (last < compacted) throw new CompactedError(afterRevision, compacted);
      const page = source.history(prefix, last, end, HISTORY_PAGE);
      last = page.length < HISTORY_PAGE ? end : page[page.length - 1].kv.modRevision;
      if (page.length > 0) yield page;
      if (sub.ended) break; // aborted or overflowed while the consumer was busy: handled below
    }
    for (;;) {
      const batch = sub.take();
      if (batch) {
        const fresh = batch[0].kv.modRevision > last ? batch : batch.filter((e) => e.kv.modRevision > last);
        if (fresh.length > 0) {
          last = fresh[fresh.length - 1].kv.modRevision;
          yield fresh;
        }
        continue;
      }
      if (sub.ended) {
        if (sub.error) throw sub.error;
        return;
      }
      await sub.wait();
    }
  } finally {
    signal.removeEventListener("abort", onAbort);
    sub.end();
  }
}
