/**
 * KumoClient: the one REST client of kumo, shared by the CLI, the dashboard, the agents and the
 * server's in-process controllers. It is isomorphic: the caller injects `fetch`, so the same code runs
 * over node:https (CLI), the browser's fetch (dashboard) or the API app's own handler (controllers).
 */
import type { KindDefinition, KList, KObject, ObjectOf, Status, WatchEvent } from "@kumo/api";
import { ConnectionError, errorFromResponse, isAbortError } from "./errors.js";
import { guaranteedUpdate, type GuaranteedUpdateOptions, type Mutate } from "./guaranteed-update.js";
import { queryString, resourcePath } from "./paths.js";
import type { FetchFn, ListOptions, PatchType, ResourceType, Table, WriteHistory, WriteOptions } from "./types.js";
import { watchStream, type WatchOptions } from "./watch.js";

/** How to reach the API. */
export interface ClientOptions {
  /** Base URL (`https://127.0.0.1:6443`); "" means same origin (dashboard). */
  server: string;
  token?: string;
  fetch: FetchFn;
  /** Field manager used by writes that do not name one. */
  fieldManager?: string;
  /** Sent as User-Agent where the platform allows it (not in browsers). */
  userAgent?: string;
}

/** Per-request options of `request`. */
export interface RequestOptions {
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
}

/** Options of `patch`: a write, optionally through the /status subresource. */
export type PatchOptions = WriteOptions & { subresource?: "status" };

const TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io";
const PATCH_TYPES: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/**
 * Typed REST client over Kubernetes-convention paths; failures throw ApiError or ConnectionError.
 * Given a kind from @kumo/api, reads and writes are typed by it (`get(InstanceKind, ...)` resolves to
 * an `Instance`); given a plain ResourceType (discovery), they take an optional object type as before.
 * The writes infer `T` from `obj` rather than taking `obj: ObjectOf<K>`: overload resolution first
 * tries the subtype relation, under which a typed object missing optional fields would fall through to
 * the untyped overload.
 */
export class KumoClient {
  constructor(readonly options: ClientOptions) {}

  /** The base URL requests go to. */
  get server(): string {
    return this.options.server.replace(/\/+$/, "");
  }

  /** Sends one request; resolves only for 2xx responses (the body is left unread). */
  async request(method: string, path: string, o: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: o.accept ?? "application/json" };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    if (this.options.userAgent) headers["User-Agent"] = this.options.userAgent;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      headers["Content-Type"] = o.contentType ?? "application/json";
    }
    const url = this.server + path;
    let res: Response;
    try {
      res = await this.options.fetch(url, { method, headers, body, signal: o.signal });
    } catch (e) {
      if (isAbortError(e) || o.signal?.aborted) throw e;
      throw new ConnectionError(url, e);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  /** `request` + JSON body. */
  async requestJson<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, o);
    return (await res.json()) as T;
  }

  /** GET one object. */
  get<K extends KindDefinition>(kind: K, namespace: string | undefined, name: string, o?: { signal?: AbortSignal }): Promise<ObjectOf<K>>;
  get<T extends KObject = KObject>(rt: ResourceType, namespace: string | undefined, name: string, o?: { signal?: AbortSignal }): Promise<T>;
  get(rt: ResourceType, namespace: string | undefined, name: string, o: { signal?: AbortSignal } = {}): Promise<KObject> {
    return this.requestJson<KObject>("GET", resourcePath(rt, namespace, name), o);
  }

  /** List one page (namespaced kinds without `namespace`: all namespaces). */
  list<K extends KindDefinition>(kind: K, namespace?: string, o?: ListOptions & { signal?: AbortSignal }): Promise<KList<ObjectOf<K>>>;
  list<T extends KObject = KObject>(rt: ResourceType, namespace?: string, o?: ListOptions & { signal?: AbortSignal }): Promise<KList<T>>;
  list(rt: ResourceType, namespace?: string, o: ListOptions & { signal?: AbortSignal } = {}): Promise<KList> {
    const q = queryString({
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.limit,
      continue: o.continue,
      resourceVersion: o.resourceVersion,
    });
    return this.requestJson<KList>("GET", resourcePath(rt, namespace) + q, { signal: o.signal });
  }

  /** List every page, following `continue`; the result carries the first page's resourceVersion (the snapshot). */
  listAll<K extends KindDefinition>(kind: K, namespace?: string, o?: ListOptions & { signal?: AbortSignal }): Promise<KList<ObjectOf<K>>>;
  listAll<T extends KObject = KObject>(rt: ResourceType, namespace?: string, o?: ListOptions & { signal?: AbortSignal }): Promise<KList<T>>;
  async listAll(rt: ResourceType, namespace?: string, o: ListOptions & { signal?: AbortSignal } = {}): Promise<KList> {
    const first = await this.list(rt, namespace, o);
    const items = [...first.items];
    let cont = first.metadata.continue;
    while (cont) {
      const page = await this.list(rt, namespace, { ...o, continue: cont, resourceVersion: undefined });
      items.push(...page.items);
      cont = page.metadata.continue;
    }
    return { ...first, metadata: { resourceVersion: first.metadata.resourceVersion }, items };
  }

  /** POST a new object (namespace from obj.metadata.namespace). */
  create<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(kind: K, obj: T, o?: WriteOptions): Promise<ObjectOf<K>>;
  create<T extends KObject = KObject>(rt: ResourceType, obj: T, o?: WriteOptions): Promise<T>;
  create(rt: ResourceType, obj: KObject, o: WriteOptions = {}): Promise<KObject> {
    const path = resourcePath(rt, obj.metadata.namespace) + this.writeQuery(o);
    return this.requestJson<KObject>("POST", path, { body: obj, signal: o.signal });
  }

  /** PUT the whole object; `metadata.resourceVersion` is the precondition (stale → 409 Conflict). */
  update<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(kind: K, obj: T, o?: WriteOptions): Promise<ObjectOf<K>>;
  update<T extends KObject = KObject>(rt: ResourceType, obj: T, o?: WriteOptions): Promise<T>;
  update(rt: ResourceType, obj: KObject, o: WriteOptions = {}): Promise<KObject> {
    return this.put(rt, obj, undefined, o);
  }

  /** PUT to the /status subresource (only status changes are kept by the server). */
  updateStatus<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(kind: K, obj: T, o?: WriteOptions): Promise<ObjectOf<K>>;
  updateStatus<T extends KObject = KObject>(rt: ResourceType, obj: T, o?: WriteOptions): Promise<T>;
  updateStatus(rt: ResourceType, obj: KObject, o: WriteOptions = {}): Promise<KObject> {
    return this.put(rt, obj, "status", o);
  }

  /** PATCH with a merge patch, JSON patch or server-side apply body, applied atomically to the latest object. */
  patch<K extends KindDefinition>(
    kind: K,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    o?: PatchOptions,
  ): Promise<ObjectOf<K>>;
  patch<T extends KObject = KObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    o?: PatchOptions,
  ): Promise<T>;
  patch(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    o: PatchOptions = {},
  ): Promise<KObject> {
    if (type === "apply" && !(o.fieldManager ?? this.options.fieldManager)) throw new Error("server-side apply needs a fieldManager");
    const path = resourcePath(rt, namespace, name, o.subresource) + this.writeQuery(o);
    return this.requestJson<KObject>("PATCH", path, { body: patch, contentType: PATCH_TYPES[type], signal: o.signal });
  }

  /** Server-side apply of a full manifest (creates it when absent); `fieldManager` is required. */
  apply<K extends KindDefinition, T extends ObjectOf<K> = ObjectOf<K>>(kind: K, obj: T, o?: WriteOptions): Promise<ObjectOf<K>>;
  apply<T extends KObject = KObject>(rt: ResourceType, obj: T, o?: WriteOptions): Promise<T>;
  apply(rt: ResourceType, obj: KObject, o: WriteOptions = {}): Promise<KObject> {
    return this.patch(rt, obj.metadata.namespace, obj.metadata.name ?? "", "apply", obj, o);
  }

  /** DELETE; resolves with the object (possibly with deletionTimestamp when finalizers hold it) or a Success Status. */
  delete(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    o: {
      propagationPolicy?: "Background" | "Foreground" | "Orphan";
      preconditions?: { resourceVersion?: string; uid?: string };
      dryRun?: boolean;
      signal?: AbortSignal;
    } = {},
  ): Promise<KObject | Status> {
    const body = {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: o.propagationPolicy ?? "Background",
      preconditions: o.preconditions,
    };
    return this.requestJson("DELETE", resourcePath(rt, namespace, name) + queryString({ dryRun: o.dryRun ? "All" : undefined }), {
      body,
      signal: o.signal,
    });
  }

  /**
   * Watches a collection from `resourceVersion`. Yields ADDED/MODIFIED/DELETED/BOOKMARK; an ERROR
   * event or a non-2xx answer throws ApiError (410: relist). Ends quietly when `signal` aborts or the
   * server closes the stream.
   */
  watch<K extends KindDefinition>(kind: K, namespace?: string, o?: WatchOptions): AsyncGenerator<WatchEvent<ObjectOf<K>>>;
  watch<T = KObject>(rt: ResourceType, namespace?: string, o?: WatchOptions): AsyncGenerator<WatchEvent<T>>;
  watch(rt: ResourceType, namespace?: string, o: WatchOptions = {}): AsyncGenerator<WatchEvent<unknown>> {
    return watchStream<unknown>(this, rt, namespace, o);
  }

  /** A meta.k8s.io/v1 Table of a collection (or of one object with `name`): columns come from the kind. */
  table(
    rt: ResourceType,
    namespace?: string,
    o: ListOptions & { name?: string; includeObject?: boolean; signal?: AbortSignal } = {},
  ): Promise<Table> {
    const q = queryString({
      labelSelector: o.labelSelector,
      fieldSelector: o.fieldSelector,
      limit: o.limit,
      continue: o.continue,
      resourceVersion: o.resourceVersion,
      includeObject: o.includeObject ? "Object" : undefined,
    });
    return this.requestJson<Table>("GET", resourcePath(rt, namespace, o.name) + q, { accept: TABLE_ACCEPT, signal: o.signal });
  }

  /** Every recorded write of one object (who changed which field, when, as which manager). */
  history(rt: ResourceType, namespace: string | undefined, name: string, o: { signal?: AbortSignal } = {}): Promise<WriteHistory> {
    return this.requestJson<WriteHistory>("GET", resourcePath(rt, namespace, name, "history"), o);
  }

  /** The log of an object with a log subresource (an instance's console or stdout/stderr), as text. */
  async log(rt: ResourceType, namespace: string, name: string, o: { tailBytes?: number; signal?: AbortSignal } = {}): Promise<string> {
    const q = queryString({ tailBytes: o.tailBytes });
    return (await this.request("GET", resourcePath(rt, namespace, name, "log") + q, { accept: "text/plain", signal: o.signal })).text();
  }

  /**
   * The log followed as it grows (`?follow=true`, as `kubectl logs -f`): its last `tailBytes`, then each new
   * chunk, until the server ends the stream (the instance went away) or `signal` aborts.
   */
  async *followLog(
    rt: ResourceType,
    namespace: string,
    name: string,
    o: { tailBytes?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<Uint8Array> {
    const q = queryString({ tailBytes: o.tailBytes, follow: true });
    const res = await this.request("GET", resourcePath(rt, namespace, name, "log") + q, { accept: "text/plain", signal: o.signal });
    if (!res.body) return;
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      // A caller that stops early (break, throw) closes the connection, so the server stops following.
      await reader.cancel().catch(() => undefined);
    }
  }

  /** Read–mutate–conditional-write, retried on stale-resourceVersion conflicts. See guaranteed-update.ts. */
  guaranteedUpdate<K extends KindDefinition>(
    kind: K,
    namespace: string | undefined,
    name: string,
    mutate: Mutate<ObjectOf<K>>,
    o?: GuaranteedUpdateOptions<ObjectOf<K>>,
  ): Promise<ObjectOf<K>>;
  guaranteedUpdate<T extends KObject = KObject>(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    mutate: Mutate<T>,
    o?: GuaranteedUpdateOptions<T>,
  ): Promise<T>;
  guaranteedUpdate(
    rt: ResourceType,
    namespace: string | undefined,
    name: string,
    mutate: Mutate<KObject>,
    o: GuaranteedUpdateOptions<KObject> = {},
  ): Promise<KObject> {
    return guaranteedUpdate(this, rt, namespace, name, mutate, o);
  }

  /** Accept header value for Table responses (exported for watchers that want Table rows). */
  static readonly tableAccept = TABLE_ACCEPT;

  private put<T extends KObject>(rt: ResourceType, obj: T, sub: "status" | undefined, o: WriteOptions): Promise<T> {
    const path = resourcePath(rt, obj.metadata.namespace, obj.metadata.name ?? "", sub) + this.writeQuery(o);
    return this.requestJson<T>("PUT", path, { body: obj, signal: o.signal });
  }

  private writeQuery(o: WriteOptions): string {
    return queryString({ fieldManager: o.fieldManager ?? this.options.fieldManager, force: o.force, dryRun: o.dryRun ? "All" : undefined });
  }
}
