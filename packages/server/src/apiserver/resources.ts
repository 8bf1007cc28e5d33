/** CRUD, patch and subresource handlers for every kind (one implementation, driven by the kind definition). */
import type { Context } from "hono";
import { Value } from "@sinclair/typebox/value";
import {
  type KindDefinition,
  type KObject,
  ORPHAN_FINALIZER,
  apiVersionOfKind,
  badRequest,
  conflict,
  invalid,
  parseApiVersion,
  staleConflict,
  validateObject,
} from "@kumo/api";
import type { ApiDeps } from "./deps.js";
import { patchTypeOf, parseDocument, readBody, readObject } from "./body.js";
import { jsonPatch, mergePatch } from "../registry/patch.js";
import { type Preconditions, checkPreconditions } from "../registry/preconditions.js";
import type { WriteContext } from "../registry/store.js";
import type { RequestInfo } from "./request-info.js";
import { TABLE_CONTENT_TYPE, toTable, wantsTable } from "./table.js";
import type { UserInfo } from "../auth/iam-cache.js";

type FieldValidation = "Strict" | "Warn" | "Ignore";

/** Sends JSON with a status code. */
export function sendJson(c: Context, code: number, body: unknown, contentType = "application/json"): Response {
  return c.body(JSON.stringify(body), code as 200, { "content-type": contentType });
}

function sendObject(c: Context, code: number, kind: KindDefinition, obj: KObject): Response {
  if (wantsTable(c.req.header("accept")))
    return sendJson(
      c,
      code,
      toTable(kind, [obj], { resourceVersion: obj.metadata.resourceVersion }, c.req.query("includeObject") ?? "Metadata"),
      TABLE_CONTENT_TYPE,
    );
  return sendJson(c, code, obj);
}

function writeContext(c: Context, user: UserInfo, info: RequestInfo, defaultManager: string): WriteContext {
  const ua = c.req.header("user-agent") ?? "";
  const manager = c.req.query("fieldManager") || ua.split("/")[0] || defaultManager;
  if (manager.length > 128) throw badRequest("fieldManager must be no more than 128 characters");
  const dryRun = c.req.query("dryRun");
  if (dryRun && dryRun !== "All") throw badRequest(`unsupported dryRun value "${dryRun}" (only "All" is supported)`);
  const force = c.req.query("force");
  return {
    user: user.name,
    manager,
    force: force === "true" || force === "1",
    dryRun: dryRun === "All",
    subresource: info.subresource === "status" ? "status" : undefined,
  };
}

function fieldValidationOf(c: Context): FieldValidation {
  const v = c.req.query("fieldValidation") ?? "Strict";
  if (v !== "Strict" && v !== "Warn" && v !== "Ignore") throw badRequest(`fieldValidation must be Strict, Warn or Ignore, not "${v}"`);
  return v;
}

/** With Warn/Ignore, unknown fields are dropped (and reported in a Warning header for Warn) instead of refused. */
function dropUnknownFields(c: Context, kind: KindDefinition, obj: KObject, mode: FieldValidation): KObject {
  if (mode === "Strict") return obj;
  const unknown = validateObject(obj, kind).filter((x) => x.message.startsWith("unknown field"));
  if (!unknown.length) return obj;
  const { apiVersion, kind: k, metadata, ...body } = obj;
  const cleaned = Value.Clean(kind.schema, structuredClone(body)) as Record<string, unknown>;
  if (mode === "Warn") c.header("Warning", unknown.map((u) => `299 - ${JSON.stringify(u.message)}`).join(", "));
  return { apiVersion, kind: k, metadata, ...cleaned };
}

function checkTypeMeta(kind: KindDefinition, obj: Record<string, unknown>): void {
  const causes = [];
  if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersionOfKind(kind)) {
    const { group } = parseApiVersion(String(obj.apiVersion));
    causes.push({
      field: "apiVersion",
      message:
        group === kind.group
          ? `unknown version "${obj.apiVersion}": this server serves ${apiVersionOfKind(kind)}`
          : `apiVersion "${obj.apiVersion}" does not match the URL (${apiVersionOfKind(kind)})`,
      reason: "FieldValueInvalid",
    });
  }
  if (obj.kind !== undefined && obj.kind !== kind.kind)
    causes.push({ field: "kind", message: `kind "${obj.kind}" does not match the URL (${kind.kind})`, reason: "FieldValueInvalid" });
  if (obj.metadata !== undefined && (typeof obj.metadata !== "object" || obj.metadata === null || Array.isArray(obj.metadata)))
    causes.push({ field: "metadata", message: "must be an object", reason: "FieldValueInvalid" });
  if (causes.length) throw badRequest(causes.map((x) => `${x.field}: ${x.message}`).join("; "), causes);
}

/** GET item (and /status). */
export async function getItem(c: Context, d: ApiDeps, info: RequestInfo): Promise<Response> {
  if (info.subresource === "history") {
    const items = await d.history.read(info.kind, info.namespace, info.name!);
    return sendJson(c, 200, { kind: "WriteHistory", apiVersion: "v1", metadata: {}, items });
  }
  return sendObject(c, 200, info.kind, await d.store.get(info.kind, info.namespace, info.name!));
}

/** GET collection. */
export async function listItems(c: Context, d: ApiDeps, info: RequestInfo): Promise<Response> {
  const limit = c.req.query("limit");
  if (limit !== undefined && !/^\d+$/.test(limit)) throw badRequest(`limit must be a non-negative integer, not "${limit}"`);
  const list = await d.store.list(info.kind, info.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
    limit: limit ? Number(limit) : undefined,
    continue: c.req.query("continue"),
  });
  if (wantsTable(c.req.header("accept")))
    return sendJson(c, 200, toTable(info.kind, list.items, list.metadata, c.req.query("includeObject") ?? "Metadata"), TABLE_CONTENT_TYPE);
  return sendJson(c, 200, list);
}

/** POST collection. */
export async function createItem(c: Context, d: ApiDeps, info: RequestInfo, user: UserInfo): Promise<Response> {
  const body = await readObject(c);
  checkTypeMeta(info.kind, body);
  const obj = dropUnknownFields(c, info.kind, body as KObject, fieldValidationOf(c));
  const ctx = writeContext(c, user, info, "unknown");
  const created = await d.admission.create(info.kind, info.namespace, obj, ctx);
  return sendObject(c, 201, info.kind, created);
}

/** PUT item (or /status). A resourceVersion is required: blind replaces are how fields get lost. */
export async function updateItem(c: Context, d: ApiDeps, info: RequestInfo, user: UserInfo): Promise<Response> {
  const body = await readObject(c);
  checkTypeMeta(info.kind, body);
  const obj = dropUnknownFields(c, info.kind, body as KObject, fieldValidationOf(c));
  const rv = obj.metadata?.resourceVersion;
  const t = { group: info.kind.group, resource: info.kind.plural, kind: info.kind.kind, name: info.name };
  if (rv !== undefined && typeof rv !== "string")
    throw invalid(t, [
      { field: "metadata.resourceVersion", message: `must be a string, not ${JSON.stringify(rv)}`, reason: "FieldValueInvalid" },
    ]);
  if (!rv) throw conflict(t, "metadata.resourceVersion must be specified for an update (read the object first, or use PATCH)");
  const ctx = writeContext(c, user, info, "unknown");
  const updated = await d.store.guaranteedUpdate(info.kind, info.namespace, info.name!, ctx, () => obj, { expectRV: rv });
  return sendObject(c, 200, info.kind, updated);
}

/** PATCH item (or /status): merge, JSON or server-side apply, always against the latest version. */
export async function patchItem(c: Context, d: ApiDeps, info: RequestInfo, user: UserInfo): Promise<Response> {
  const type = patchTypeOf(c.req.header("content-type"));
  const patch = parseDocument(await readBody(c), type === "apply" ? "yaml" : "json");
  const mode = fieldValidationOf(c);
  const ctx = writeContext(c, user, info, "unknown");
  const kind = info.kind;
  const t = { group: kind.group, resource: kind.plural, kind: kind.kind, name: info.name };
  if (type === "apply") {
    if (!c.req.query("fieldManager"))
      throw badRequest("fieldManager is required for apply requests (kubectl sets it; with curl add ?fieldManager=NAME)");
    if (typeof patch !== "object" || patch === null || Array.isArray(patch)) throw badRequest("apply body must be an object");
    const config = dropUnknownFields(c, kind, patch as KObject, mode) as Record<string, unknown>;
    checkTypeMeta(kind, config);
    if (!config.apiVersion || !config.kind) throw badRequest("apply configuration must set apiVersion and kind");
    const md = (config.metadata ?? {}) as Record<string, unknown>;
    if (md.name !== undefined && md.name !== info.name)
      throw badRequest(`the name in the body (${String(md.name)}) does not match the URL (${info.name})`);
    let created = false;
    const obj = await d.store.guaranteedUpdate(kind, info.namespace, info.name!, ctx, (cur) => cur, {
      operation: "Apply",
      applyConfig: config,
      expectRV: typeof md.resourceVersion === "string" ? md.resourceVersion : undefined,
      createIfMissing: async () => {
        created = true;
        const fresh = { ...structuredClone(config), metadata: { ...md, name: info.name } } as KObject;
        return d.admission.create(kind, info.namespace, fresh, ctx, "Apply");
      },
    });
    return sendObject(c, created ? 201 : 200, kind, obj);
  }
  if (type === "merge" && (typeof patch !== "object" || patch === null || Array.isArray(patch)))
    throw badRequest("merge patch must be a JSON object");
  const pinnedRV = type === "merge" ? ((patch as KObject).metadata?.resourceVersion ?? undefined) : undefined;
  const obj = await d.store.guaranteedUpdate(
    kind,
    info.namespace,
    info.name!,
    ctx,
    (cur) => {
      const next = (type === "merge" ? mergePatch(cur, patch) : jsonPatch(cur, patch, t)) as KObject;
      if (typeof next !== "object" || next === null || Array.isArray(next))
        throw invalid(t, [{ message: "patch result is not an object" }]);
      if (typeof next.metadata !== "object" || next.metadata === null || Array.isArray(next.metadata))
        throw invalid(t, [{ field: "metadata", message: "must be an object", reason: "FieldValueInvalid" }]);
      // A resourceVersion put into the object by the patch is a precondition (kubectl's managedFields migration relies on it).
      const rv = next.metadata?.resourceVersion;
      if (rv !== undefined && rv !== cur.metadata.resourceVersion) throw staleConflict(t);
      return dropUnknownFields(c, kind, next, mode);
    },
    { expectRV: pinnedRV },
  );
  return sendObject(c, 200, kind, obj);
}

/**
 * Records propagationPolicy=Orphan on the object itself, as Kubernetes does: the `orphan` finalizer, added
 * only if the preconditions hold. The garbage collector, which follows deletions on its own, detaches the
 * dependents and removes the finalizer; the request thus survives a restart. Returns the preconditions left
 * for the delete (the uid: this write changed the resourceVersion).
 */
async function recordOrphan(d: ApiDeps, info: RequestInfo, ctx: WriteContext, pre: Preconditions): Promise<Preconditions> {
  const t = { group: info.kind.group, resource: info.kind.plural, kind: info.kind.kind, name: info.name };
  await d.store.guaranteedUpdate(info.kind, info.namespace, info.name!, ctx, (cur) => {
    // The delete's own preconditions, checked on this write: the one that records the request.
    checkPreconditions({ uid: pre.uid || undefined, resourceVersion: pre.resourceVersion || undefined }, cur, t, "delete");
    const md = cur.metadata;
    // Already being deleted: no finalizer can be added, and the delete below changes nothing.
    if (md.deletionTimestamp || (md.finalizers ?? []).includes(ORPHAN_FINALIZER)) return cur;
    md.finalizers = [...(md.finalizers ?? []), ORPHAN_FINALIZER];
    return cur;
  });
  return { uid: pre.uid };
}

/** DELETE item. Honors preconditions, dryRun and propagationPolicy (Orphan detaches dependents; Background lets the GC delete them). */
export async function deleteItem(c: Context, d: ApiDeps, info: RequestInfo, user: UserInfo): Promise<Response> {
  let opts: { propagationPolicy?: string; preconditions?: Preconditions; dryRun?: string[] } = {};
  const text = await readBody(c);
  if (text.trim()) {
    const doc = parseDocument(text, c.req.header("content-type"));
    if (typeof doc !== "object" || doc === null) throw badRequest("delete options must be an object");
    opts = doc;
    const bad = (field: string, want: string) =>
      badRequest(`invalid delete options: ${field} must be ${want}`, [{ field, message: `must be ${want}` }]);
    if (
      opts.preconditions !== undefined &&
      (typeof opts.preconditions !== "object" || opts.preconditions === null || Array.isArray(opts.preconditions))
    )
      throw bad("preconditions", "an object {uid, resourceVersion}");
    for (const f of ["uid", "resourceVersion"] as const)
      if (opts.preconditions?.[f] !== undefined && typeof opts.preconditions[f] !== "string") throw bad(`preconditions.${f}`, "a string");
    if (opts.propagationPolicy !== undefined && typeof opts.propagationPolicy !== "string")
      throw bad("propagationPolicy", "Background, Foreground or Orphan");
    if (opts.dryRun !== undefined && (!Array.isArray(opts.dryRun) || opts.dryRun.some((x) => typeof x !== "string")))
      throw bad("dryRun", 'a list like ["All"]');
  }
  const policy = c.req.query("propagationPolicy") ?? opts.propagationPolicy ?? "Background";
  if (!["Background", "Foreground", "Orphan"].includes(policy))
    throw badRequest(`propagationPolicy must be Background, Foreground or Orphan, not "${policy}"`);
  const ctx = writeContext(c, user, info, "unknown");
  if (opts.dryRun?.includes("All")) ctx.dryRun = true;
  await d.admission.beforeDelete(info.kind, info.namespace, info.name!);
  let pre = opts.preconditions ?? {};
  if (policy === "Orphan" && !ctx.dryRun) pre = await recordOrphan(d, info, ctx, pre);
  // Dependents are the garbage collector's: it follows this deletion through the watch cache.
  const { obj } = await d.store.delete(info.kind, info.namespace, info.name!, ctx, pre);
  return sendObject(c, 200, info.kind, obj);
}

/** DELETE collection: deletes every matching object (selectors apply). */
export async function deleteCollection(c: Context, d: ApiDeps, info: RequestInfo, user: UserInfo): Promise<Response> {
  const list = await d.store.list(info.kind, info.namespace, {
    labelSelector: c.req.query("labelSelector"),
    fieldSelector: c.req.query("fieldSelector"),
  });
  const ctx = writeContext(c, user, info, "unknown");
  for (const o of list.items) await d.store.delete(info.kind, o.metadata.namespace, o.metadata.name!, ctx).catch(() => undefined);
  return sendJson(c, 200, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    details: { kind: info.kind.plural, group: info.kind.group },
  });
}
