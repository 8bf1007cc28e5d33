/** The watch stream: newline-delimited `{"type","object"}` events over one long HTTP response. */
import type { WatchEvent } from "@kumo/api";
import type { KumoClient } from "./client.js";
import { errorFromWatchStatus, isAbortError } from "./errors.js";
import { splitLines } from "./lines.js";
import { queryString, resourcePath } from "./paths.js";
import type { ListOptions, ResourceType } from "./types.js";

/** Options of `KumoClient.watch`. */
export interface WatchOptions extends Omit<ListOptions, "limit" | "continue"> {
  /** Ask for BOOKMARK events, which advance the resourceVersion without a change (informers). */
  allowWatchBookmarks?: boolean;
  /** Server-side timeout of the stream. */
  timeoutSeconds?: number;
  /** Ask for one-row meta.k8s.io Tables as event objects (what `kubectl get -w` shows). */
  asTable?: boolean;
  signal?: AbortSignal;
}

/** Implements KumoClient.watch (see there). */
export async function* watchStream<T>(
  client: KumoClient,
  rt: ResourceType,
  namespace: string | undefined,
  o: WatchOptions,
): AsyncGenerator<WatchEvent<T>> {
  const q = queryString({
    watch: "1",
    resourceVersion: o.resourceVersion,
    labelSelector: o.labelSelector,
    fieldSelector: o.fieldSelector,
    allowWatchBookmarks: o.allowWatchBookmarks ? "true" : undefined,
    timeoutSeconds: o.timeoutSeconds,
  });
  const accept = o.asTable ? "application/json;as=Table;v=v1;g=meta.k8s.io" : "application/json";
  let res: Response;
  try {
    res = await client.request("GET", resourcePath(rt, namespace) + q, { accept, signal: o.signal });
  } catch (e) {
    if (o.signal?.aborted && isAbortError(e)) return;
    throw e;
  }
  if (!res.body) return;
  try {
    for await (const line of splitLines(res.body)) {
      const ev = parseEvent<T>(line);
      if (ev.type === "ERROR") throw errorFromWatchStatus(ev.object);
      yield ev;
    }
  } catch (e) {
    // Aborting is how callers stop a watch; it is not an error for them.
    if (o.signal?.aborted) return;
    throw e;
  }
}

/** Parses one line of a watch stream; throws on anything that is not a watch event. */
export function parseEvent<T>(line: string): WatchEvent<T> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new Error(`malformed watch event: ${line.slice(0, 200)}`);
  }
  const ev = v as Partial<WatchEvent<T>>;
  if (typeof ev !== "object" || ev === null || typeof ev.type !== "string" || typeof ev.object !== "object") {
    throw new Error(`malformed watch event: ${line.slice(0, 200)}`);
  }
  return ev as WatchEvent<T>;
}
