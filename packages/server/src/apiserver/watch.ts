/**
 * Watch streams: newline-delimited JSON events over a chunked 200 response, served from the watch cache.
 * RV unset/0 (or sendInitialEvents) starts with synthetic ADDED events for the current state, as kubectl
 * expects; an RV older than the cache window gets an ERROR event carrying a 410 Expired Status.
 */
import type { ServerResponse } from "node:http";
import type { Context } from "hono";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { type KObject, badRequest, gone } from "@kumo/api";
import type { ApiDeps } from "./deps.js";
import type { RequestInfo } from "./request-info.js";
import { listPrefix, objectKey } from "../registry/codec.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector } from "../registry/selectors.js";
import { type CachedEvent, type Subscriber, TooOldError } from "../registry/watch-cache.js";
import { TABLE_CONTENT_TYPE, toTable, wantsTable } from "./table.js";

/** A watcher that falls this many events (web stream) or bytes (socket) behind is cut off (it re-lists). */
const MAX_BACKLOG_EVENTS = 10_000;
const MAX_BACKLOG_BYTES = 64 << 20;
const BOOKMARK_MS = 15_000;

/** Serves `?watch=1`. */
export async function watchItems(c: Context, d: ApiDeps, info: RequestInfo): Promise<Response> {
  const kind = info.kind;
  const labels = parseLabelSelector(c.req.query("labelSelector"));
  let fieldSel = c.req.query("fieldSelector");
  if (info.name) fieldSel = [fieldSel, `metadata.name=${info.name}`].filter(Boolean).join(",");
  const fields = parseFieldSelector(fieldSel);
  const rvParam = c.req.query("resourceVersion");
  if (rvParam !== undefined && rvParam !== "" && !/^\d+$/.test(rvParam))
    throw badRequest(`resourceVersion must be a number, not "${rvParam}"`);
  const bookmarks = c.req.query("allowWatchBookmarks") === "true";
  const sendInitial = c.req.query("sendInitialEvents") === "true";
  const timeoutSec = Number(c.req.query("timeoutSeconds") ?? "0");
  const table = wantsTable(c.req.header("accept"));
  const includeObject = c.req.query("includeObject") ?? "Metadata";
  const prefix = info.name ? objectKey(kind, info.namespace, info.name) : listPrefix(kind, info.namespace);
  const matches = (o: KObject | undefined) =>
    !!o && (!info.name || o.metadata.name === info.name) && matchLabels(labels, o.metadata.labels) && matchFields(fields, o);
  // Without selectors the key alone decides, and the cached event's JSON is sent without parsing the object.
  const selectorFree = labels.length === 0 && parseFieldSelector(c.req.query("fieldSelector")).length === 0;
  const exactKey = info.name ? objectKey(kind, info.namespace, info.name) : undefined;

  let initial: KObject[] = [];
  let after: number;
  if (!rvParam || rvParam === "0" || sendInitial) {
    const list = await d.store.list(kind, info.namespace, { labelSelector: c.req.query("labelSelector"), fieldSelector: fieldSel });
    initial = list.items;
    after = Number(list.metadata.resourceVersion);
  } else after = Number(rvParam);

  const encode = (type: string, obj: unknown, json?: string) => {
    if (table && type !== "ERROR" && type !== "BOOKMARK") {
      const o = (obj ?? JSON.parse(json!)) as KObject;
      const asTable = toTable(kind, [o], { resourceVersion: o.metadata.resourceVersion }, includeObject);
      return Buffer.from(`{"type":"${type}","object":${JSON.stringify(asTable)}}\n`);
    }
    return Buffer.from(`{"type":"${type}","object":${json ?? JSON.stringify(obj)}}\n`);
  };
  // An event sent as it happened is the same bytes for every plain watcher: encoded once, shared.
  const encodeAsIs = (e: CachedEvent) => (table ? encode(e.type, e.obj, e.json) : (e.wire ??= encode(e.type, undefined, e.json)));
  const bookmark = (rev: number, initialEnd = false) =>
    encode("BOOKMARK", {
      kind: kind.kind,
      apiVersion: kind.group ? `${kind.group}/${kind.version}` : kind.version,
      metadata: { resourceVersion: String(rev), ...(initialEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}) },
    });

  let sub: Subscriber | undefined;
  let timers: NodeJS.Timeout[] = [];
  const resource = kind.plural;
  let closed = false;
  let sink: WatchSink;
  const cleanup = () => {
    if (closed) return;
    closed = true;
    if (sub) d.cache.unsubscribe(sub);
    timers.forEach(clearTimeout);
    timers = [];
    d.metrics.watchers.labels(resource).dec();
  };
  const finish = () => {
    cleanup();
    sink.end();
  };
  const push = (chunk: Uint8Array) => {
    if (closed) return;
    if (sink.overflowing()) return finish();
    sink.write(chunk);
  };

  const start = () => {
    d.metrics.watchers.labels(resource).inc();
    for (const o of initial) push(encode("ADDED", o));
    if (sendInitial && bookmarks) push(bookmark(after, true));
    let lastRev = after;
    const deliver = (events: CachedEvent[]) => {
      for (const e of events) {
        lastRev = e.revision;
        if (selectorFree) {
          if (!exactKey || e.key === exactKey) push(encodeAsIs(e));
          continue;
        }
        const now = matches(e.obj);
        const before = e.type === "MODIFIED" ? matches(e.prev) : now;
        let type: string | undefined;
        if (e.type === "DELETED") type = now ? "DELETED" : undefined;
        else if (e.type === "ADDED") type = now ? "ADDED" : undefined;
        else if (now && before) type = "MODIFIED";
        else if (now) type = "ADDED";
        else if (before) type = "DELETED";
        if (type) push(type === e.type ? encodeAsIs(e) : encode(type, e.obj, e.json));
      }
    };
    sub = {
      prefix,
      afterRevision: after,
      deliver,
      close: () => {
        if (closed) return;
        push(encode("ERROR", gone("the watch cache was reset; re-list and watch again").toStatus()));
        finish();
      },
    };
    try {
      deliver(d.cache.subscribe(sub));
    } catch (e) {
      if (!(e instanceof TooOldError)) throw e;
      sub = undefined;
      push(encode("ERROR", gone(`too old resource version: ${e.requested} (${e.oldest})`).toStatus()));
      return finish();
    }
    if (bookmarks) {
      const tick = () => {
        push(bookmark(Math.max(lastRev, d.cache.revision)));
        timers.push(setTimeout(tick, BOOKMARK_MS));
      };
      timers.push(setTimeout(tick, BOOKMARK_MS));
    }
    if (timeoutSec > 0) timers.push(setTimeout(finish, timeoutSec * 1000));
  };

  const headers = {
    "content-type": table ? TABLE_CONTENT_TYPE : "application/json",
    "cache-control": "no-cache",
    "transfer-encoding": "chunked",
  };
  const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
  if (outgoing) {
    // Served from a Node socket: events are written straight to it. A web ReadableStream in between
    // costs a promise round trip per chunk per watcher, which dominates a fan-out to 1,000 watchers.
    sink = socketSink(outgoing, headers, cleanup);
    start();
    return RESPONSE_ALREADY_SENT;
  }
  // In-process callers (fetchAs) get a web stream.
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      sink = {
        write: (chunk) => controller.enqueue(chunk),
        end: () => controller.close(),
        overflowing: () => (controller.desiredSize ?? 0) < -MAX_BACKLOG_EVENTS,
      };
      start();
    },
    cancel: cleanup,
  });
  c.req.raw.signal?.addEventListener("abort", cleanup);
  return new Response(stream, { status: 200, headers });
}

/** Where a watch's events go. */
interface WatchSink {
  write(chunk: Uint8Array): void;
  end(): void;
  /** The client reads slower than events come: cut it off so it re-lists instead of holding memory. */
  overflowing(): boolean;
}

function socketSink(res: ServerResponse, headers: Record<string, string>, onClose: () => void): WatchSink {
  res.writeHead(200, headers);
  res.flushHeaders();
  res.on("close", onClose);
  return {
    write: (chunk) => void res.write(chunk),
    end: () => res.end(),
    overflowing: () => res.writableLength > MAX_BACKLOG_BYTES,
  };
}
