/**
 * An in-memory fake of the API for unit tests of the client: one cluster-scoped resource, real
 * resourceVersion preconditions, real streaming watches. It speaks through a WHATWG fetch, exactly
 * what KumoClient is given in production. Integration tests use the real server instead.
 */
import type { KObject, WatchEvent } from "@kumo/api";
import type { FetchFn, ResourceType } from "../types.js";

/** The resource the fake serves. */
export const Widget: ResourceType = { group: "test.kumo.dev", version: "v1", plural: "widgets", namespaced: false, kind: "Widget" };
const BASE = "/apis/test.kumo.dev/v1/widgets";

/** A request the fake received. */
export interface SeenRequest {
  method: string;
  url: URL;
  headers: Headers;
  body?: string;
}

interface Watcher {
  ctrl: ReadableStreamDefaultController<Uint8Array>;
}

/** The fake API server. */
export class FakeApi {
  readonly objects = new Map<string, KObject>();
  readonly requests: SeenRequest[] = [];
  private readonly log: { rv: number; ev: WatchEvent }[] = [];
  private readonly watchers = new Set<Watcher>();
  rv = 0;
  /** Watches from a resourceVersion below this get a 410 ERROR event. */
  compactedRv = 0;
  /** Return a Response to override the default handling of a request. */
  intercept?: (r: SeenRequest) => Response | undefined;

  /** The fetch to hand to KumoClient. */
  readonly fetch: FetchFn = async (input, init = {}) => {
    const r: SeenRequest = {
      method: init.method ?? "GET",
      url: new URL(input),
      headers: new Headers(init.headers),
      body: init.body as string | undefined,
    };
    this.requests.push(r);
    return this.intercept?.(r) ?? this.handle(r, init.signal ?? undefined);
  };

  /** Creates or replaces an object as another writer would, notifying watchers. */
  put(obj: KObject): KObject {
    const name = obj.metadata.name as string;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } };
    const type = this.objects.has(name) ? "MODIFIED" : "ADDED";
    this.objects.set(name, stored);
    this.notify({ type, object: stored });
    return stored;
  }

  /** Deletes an object as another writer would. */
  remove(name: string): void {
    const obj = this.objects.get(name);
    if (!obj) return;
    this.objects.delete(name);
    this.notify({ type: "DELETED", object: { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++this.rv) } } });
  }

  /** Sends a raw event to every open watch (e.g. a BOOKMARK or an ERROR). */
  broadcast(ev: WatchEvent): void {
    for (const w of this.watchers) w.ctrl.enqueue(new TextEncoder().encode(JSON.stringify(ev) + "\n"));
  }

  /** Ends every open watch stream cleanly, as a server timeout would. */
  closeWatches(): void {
    for (const w of this.watchers) w.ctrl.close();
    this.watchers.clear();
  }

  /** Number of open watch streams. */
  get openWatches(): number {
    return this.watchers.size;
  }

  private notify(ev: WatchEvent): void {
    this.log.push({ rv: this.rv, ev });
    this.broadcast(ev);
  }

  private handle(r: SeenRequest, signal?: AbortSignal): Response {
    const path = r.url.pathname;
    if (!path.startsWith(BASE)) return status(404, "NotFound", "the server could not find the requested resource");
    const name = decodeURIComponent(path.slice(BASE.length + 1).split("/")[0] ?? "");
    if (r.method === "GET" && !name && r.url.searchParams.get("watch"))
      return this.watch(Number(r.url.searchParams.get("resourceVersion") ?? 0), signal);
    if (r.method === "GET" && !name) {
      return json(200, {
        kind: "WidgetList",
        apiVersion: "test.kumo.dev/v1",
        metadata: { resourceVersion: String(this.rv) },
        items: [...this.objects.values()],
      });
    }
    const cur = this.objects.get(name);
    if (r.method === "GET") return cur ? json(200, cur) : status(404, "NotFound", `widgets.test.kumo.dev "${name}" not found`);
    if (r.method === "PUT") {
      const obj = JSON.parse(r.body ?? "{}") as KObject;
      if (!cur) return status(404, "NotFound", `widgets.test.kumo.dev "${name}" not found`);
      if (obj.metadata.resourceVersion !== cur.metadata.resourceVersion) {
        return status(
          409,
          "Conflict",
          `Operation cannot be fulfilled on widgets.test.kumo.dev "${name}": the object has been modified; ` +
            "please apply your changes to the latest version and try again",
        );
      }
      return json(200, this.put(obj));
    }
    return status(405, "MethodNotAllowed", `${r.method} not supported by the fake`);
  }

  private watch(from: number, signal?: AbortSignal): Response {
    let watcher: Watcher | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (ctrl) => {
        watcher = { ctrl };
        const enc = (ev: unknown) => new TextEncoder().encode(JSON.stringify(ev) + "\n");
        if (from && from < this.compactedRv) {
          ctrl.enqueue(
            enc({
              type: "ERROR",
              object: {
                kind: "Status",
                apiVersion: "v1",
                metadata: {},
                status: "Failure",
                reason: "Expired",
                code: 410,
                message: "too old resource version",
              },
            }),
          );
          ctrl.close();
          return;
        }
        for (const e of this.log) if (e.rv > from) ctrl.enqueue(enc(e.ev));
        this.watchers.add(watcher);
        signal?.addEventListener("abort", () => {
          if (watcher && this.watchers.delete(watcher)) ctrl.error(new DOMException("aborted", "AbortError"));
        });
      },
      cancel: () => {
        if (watcher) this.watchers.delete(watcher);
      },
    });
    return new Response(body, { status: 200, headers: { "Content-Type": "application/json" } });
  }
}

/** A JSON response. */
export function json(code: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status: code, headers: { "Content-Type": "application/json" } });
}

/** A Status error response. */
export function status(code: number, reason: string, message: string, details?: unknown): Response {
  return json(code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason, message, code, details });
}
