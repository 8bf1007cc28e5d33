/**
 * The HTTP surface: health, discovery, OpenAPI, metrics/debug, the dashboard, and one resource handler
 * for every kind. Authentication, authorization, audit and request metrics happen here, once.
 */
import { Hono, type Context } from "hono";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { ApiError, forbidden, internalError, methodNotAllowed, notFound, unauthorized } from "@kumo/api";
import type { ApiDeps } from "./deps.js";
import { coreVersions, groupDoc, groupList, resourceList, versionInfo } from "./discovery.js";
import { openApiIndex } from "./openapi.js";
import { parseRequestInfo, type RequestInfo } from "./request-info.js";
import { createItem, deleteCollection, deleteItem, getItem, listItems, patchItem, sendJson, updateItem } from "./resources.js";
import { watchItems } from "./watch.js";
import { instanceLog } from "./instance-log.js";
import { mountBlobRoutes } from "./blobs.js";
import type { UserInfo } from "../auth/iam-cache.js";
import type { BlobStore } from "../images/blob-store.js";

/** Hono bindings: in-process callers (controllers) pass their identity here; network requests cannot. */
export interface AppEnv {
  Bindings: { internalUser?: UserInfo };
  Variables: { user: UserInfo; info?: RequestInfo };
}

const PUBLIC_PATHS = new Set(["/healthz", "/readyz", "/livez", "/version"]);
const MIME: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript",
  ".css": "text/css",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".ico": "image/x-icon",
  ".map": "application/json",
  ".woff2": "font/woff2",
};

function errorResponse(c: Context, e: unknown, d: ApiDeps): Response {
  let err: ApiError;
  if (e instanceof ApiError) err = e;
  else {
    d.log.error({ err: e instanceof Error ? e.stack : String(e), path: c.req.path }, "internal error");
    err = internalError(`internal error while serving ${c.req.method} ${c.req.path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return sendJson(c, err.code, err.toStatus());
}

/** Builds the Hono app. `ready()` tells /readyz whether the store and caches are up; `blobs` serves image blobs. */
export function createApp(d: ApiDeps, ready: () => boolean, opts: { blobs?: BlobStore } = {}): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const openapi = openApiIndex(d.kinds);

  app.onError((e, c) => errorResponse(c, e, d));
  app.notFound((c) => sendJson(c, 404, notFound({ resource: "path", name: c.req.path }).toStatus()));

  // Request metrics and audit for everything.
  app.use("*", async (c, next) => {
    const start = performance.now();
    d.metrics.inflight.inc();
    try {
      await next();
    } finally {
      d.metrics.inflight.dec();
      const info = c.get("info");
      const verb = info?.verb ?? c.req.method.toLowerCase();
      const resource = info ? info.kind.plural + (info.subresource ? `/${info.subresource}` : "") : "nonresource";
      const code = String(c.res.status);
      const secs = (performance.now() - start) / 1000;
      d.metrics.requests.labels(verb, resource, code).inc();
      d.metrics.requestSeconds.labels(verb, resource).observe(secs);
      if (info && d.audit) {
        d.audit.write({
          time: new Date().toISOString(),
          user: c.get("user")?.name ?? "anonymous",
          verb,
          resource: info.kind.plural,
          subresource: info.subresource,
          namespace: info.namespace,
          name: info.name,
          code: c.res.status,
          fieldManager: c.req.query("fieldManager"),
          userAgent: c.req.header("user-agent"),
          latencyMs: Math.round(secs * 1000 * 100) / 100,
        });
      }
    }
  });

  app.get("/healthz", (c) => c.text("ok"));
  app.get("/livez", (c) => c.text("ok"));
  app.get("/readyz", (c) => (ready() ? c.text("ok") : c.text("store or caches not ready", 503)));
  app.get("/version", (c) => sendJson(c, 200, versionInfo()));
  app.get("/", (c) => c.redirect("/ui/"));

  // The dashboard's static files are public (it signs in with a token like any client).
  app.get("/ui/*", async (c) => {
    if (!d.webRoot) return c.text("the dashboard is not built; run `make build` (or `make up`)", 404);
    const rel = normalize(c.req.path.slice("/ui/".length)).replace(/^(\.\.(\/|$))+/, "");
    const file = join(d.webRoot, rel || "index.html");
    try {
      const data = await readFile(file);
      return c.body(data, 200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    } catch {
      // Hashed assets that are missing are a stale page's leftovers: say so instead of answering with HTML.
      if (rel.startsWith("assets/")) return c.text(`no such dashboard asset: ${rel} (reload the page)`, 404);
      // Anything else is a client-side route of the single-page app.
      return c.body(await readFile(join(d.webRoot, "index.html")), 200, { "content-type": MIME[".html"] });
    }
  });

  // Authentication: bearer token, or the in-process identity of a controller.
  app.use("*", async (c, next) => {
    if (PUBLIC_PATHS.has(c.req.path) || c.req.path.startsWith("/ui/") || c.req.path === "/") return next();
    const internal = c.env?.internalUser;
    if (internal) {
      c.set("user", internal);
      return next();
    }
    const auth = c.req.header("authorization") ?? "";
    const m = auth.match(/^Bearer\s+(\S+)$/i);
    if (!m) {
      d.metrics.authFailures.inc();
      throw unauthorized(
        "Unauthorized: send a bearer token (Authorization: Bearer <token>); the admin token is in the kubeconfig written by `kumo up`",
      );
    }
    const res = d.iam.authenticate(m[1]);
    if ("error" in res) {
      d.metrics.authFailures.inc();
      throw unauthorized(`Unauthorized: ${res.error}`);
    }
    c.set("user", res);
    return next();
  });

  app.get("/metrics", async (c) => {
    const st = await d.store.backend.stats();
    d.metrics.dbSize.set(st.dbSizeBytes);
    d.metrics.revision.set(st.revision);
    d.metrics.watchCacheEvents.set(d.cache.snapshot().windowEvents);
    return c.body(await d.metrics.registry.metrics(), 200, { "content-type": d.metrics.registry.contentType });
  });
  app.get("/debug/state", async (c) => sendJson(c, 200, await d.debugState()));

  // Discovery and OpenAPI.
  app.get("/api", (c) => sendJson(c, 200, coreVersions(c.req.header("host") ?? "")));
  app.get("/apis", (c) => sendJson(c, 200, groupList(d.kinds)));
  app.get("/openapi/v3", (c) => sendJson(c, 200, openapi.index));
  app.get("/openapi/v3/*", (c) => {
    const doc = openapi.docs.get(c.req.path.slice("/openapi/v3/".length));
    if (!doc) throw notFound({ resource: "openapi", name: c.req.path });
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (c.req.query("hash") === doc.hash)
      Object.assign(headers, { "cache-control": "public, immutable", expires: new Date(Date.now() + 365 * 24 * 3600e3).toUTCString() });
    return c.body(doc.json, 200, headers);
  });

  const resourceHandler = async (c: Context<AppEnv>) => {
    const path = c.req.path;
    const parts = path.split("/").filter(Boolean);
    if (c.req.method === "GET") {
      if (parts[0] === "api" && parts.length === 2) {
        const doc = resourceList(d.kinds, "", parts[1]);
        if (!doc) throw notFound({ resource: "path", name: path });
        return sendJson(c, 200, doc);
      }
      if (parts[0] === "apis" && parts.length === 2) {
        const versions = d.kinds.groups().get(parts[1]);
        if (!versions) throw notFound({ resource: "path", name: path });
        return sendJson(c, 200, groupDoc(parts[1], versions));
      }
      if (parts[0] === "apis" && parts.length === 3) {
        const doc = resourceList(d.kinds, parts[1], parts[2]);
        if (!doc) throw notFound({ resource: "path", name: path });
        return sendJson(c, 200, doc);
      }
    }
    const watch = ["1", "true"].includes(c.req.query("watch") ?? "");
    const info = parseRequestInfo(c.req.method, path, d.kinds, watch);
    if (!info) throw notFound({ resource: "path", name: path });
    c.set("info", info);
    const user = c.get("user");
    // Status and log are authorized as their own resources ("instances/log", as pods/log in Kubernetes).
    const resource = info.kind.plural + (info.subresource === "status" || info.subresource === "log" ? `/${info.subresource}` : "");
    const authzVerb = info.subresource === "history" || info.subresource === "log" ? "get" : info.verb;
    if (!d.iam.authorize(user, authzVerb, info.group, resource, info.kind.namespaced ? info.namespace : undefined, info.name)) {
      const scope = info.kind.namespaced && info.namespace ? `in the namespace "${info.namespace}"` : "at the cluster scope";
      const what = `${info.kind.plural}${info.kind.group ? "." + info.kind.group : ""}${info.name ? ` "${info.name}"` : ""}`;
      throw forbidden(
        `${what} is forbidden: User "${user.name}" cannot ${authzVerb} resource "${resource}" in API group "${info.group}" ${scope}`,
      );
    }
    if (info.subresource === "history" && (c.req.method !== "GET" || !info.name))
      throw methodNotAllowed("the history subresource is read-only");
    if (info.subresource === "log") {
      if (c.req.method !== "GET" || !info.name || info.verb === "watch")
        throw methodNotAllowed(`the log subresource is read with GET on one ${info.kind.singular}`);
      return instanceLog(c, d, info);
    }
    switch (info.verb) {
      case "get":
        return getItem(c, d, info);
      case "list":
        return listItems(c, d, info);
      case "watch":
        return watchItems(c, d, info);
      case "create":
        return createItem(c, d, info, user);
      case "update":
        return updateItem(c, d, info, user);
      case "patch":
        return patchItem(c, d, info, user);
      case "delete":
        return deleteItem(c, d, info, user);
      case "deletecollection":
        return deleteCollection(c, d, info, user);
      default:
        throw methodNotAllowed(`${c.req.method} is not supported on ${path}`);
    }
  };
  // Image blobs are raw streams, not objects: routed before the resource handler (and after authentication).
  if (opts.blobs) mountBlobRoutes(app, d, opts.blobs);
  app.all("/api/*", resourceHandler);
  app.all("/apis/*", resourceHandler);
  return app;
}
