/**
 * The object layer: typed Kubernetes-style objects over the etcd-shaped Backend, written once for every
 * backend. It owns preconditions (resourceVersion, uid), generation, finalizers and deletionTimestamp,
 * field ownership (managedFields + kumo's removal rule) and the write history.
 */
import {
  type KindDefinition, type KindRegistry, type KObject, type KList, type StatusCause,
  alreadyExists, apiVersionOfKind, badRequest, conflict, forbidden, invalid, notFound, validateObject, NamespaceKind,
} from "@kumo/api";
import type { Backend, KeyValue } from "../storage/backend.js";
import { decode, encode, listPrefix, objectKey } from "./codec.js";
import { type FieldChange, diffLeaves, formatPath, jsonEqual } from "./field-paths.js";
import { KeyLock } from "./key-lock.js";
import { Ownership, type OwnershipConflict } from "./managed-fields.js";
import { type HistoryRecorder } from "./history.js";
import { matchFields, matchLabels, parseFieldSelector, parseLabelSelector, pinnedName } from "./selectors.js";

/** Who is writing and how. */
export interface WriteContext {
  user: string;
  manager: string;
  /** Override ownership conflicts (SSA force, kumo's removal rule). */
  force?: boolean;
  dryRun?: boolean;
  subresource?: "status";
}

/** Called after every successful write with what changed (metrics, audit of ownership overrides). */
export type WriteListener = (e: { kind: KindDefinition; obj: KObject; ctx: WriteContext; changes: FieldChange[]; overridden: OwnershipConflict[] }) => void;

/** Options of list. */
export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

/** Reported when an update would remove fields owned by other managers (metrics label it by manager). */
export type ConflictListener = (kind: KindDefinition, manager: string, reason: "stale" | "ownership") => void;

const MAX_RETRIES = 64;

/** Typed objects over a Backend. */
export class ObjectStore {
  private readonly lock = new KeyLock();
  onWrite?: WriteListener;
  onConflict?: ConflictListener;

  constructor(readonly backend: Backend, readonly kinds: KindRegistry, private readonly history: HistoryRecorder) {}

  private target(kind: KindDefinition, name?: string) {
    return { group: kind.group, kind: kind.kind, resource: kind.plural, name };
  }

  /** Reads one object; 404 when absent. */
  async get(kind: KindDefinition, namespace: string | undefined, name: string): Promise<KObject> {
    const kv = await this.backend.get(objectKey(kind, namespace, name));
    if (!kv) throw notFound(this.target(kind, name));
    return decode(kind, kv);
  }

  /** Lists objects with selectors and pagination (continue token = next start key). */
  async list(kind: KindDefinition, namespace: string | undefined, q: ListQuery = {}): Promise<KList> {
    const labels = parseLabelSelector(q.labelSelector);
    const fields = parseFieldSelector(q.fieldSelector);
    const prefix = listPrefix(kind, namespace);
    const items: KObject[] = [];
    let startKey: string | undefined;
    if (q.continue) {
      try {
        startKey = JSON.parse(atob(q.continue)).start;
      } catch {
        throw badRequest(`invalid continue token "${q.continue}"; restart the list without it`);
      }
    }
    const pinned = pinnedName(fields);
    let revision = 0;
    let nextStart: string | undefined;
    if (pinned !== undefined && (!kind.namespaced || namespace)) {
      const kv = await this.backend.get(objectKey(kind, namespace, pinned));
      revision = await this.backend.currentRevision();
      if (kv) this.pushIfMatch(kind, kv, labels, fields, items);
    } else {
      const limit = q.limit && q.limit > 0 ? q.limit : 0;
      // Selectors filter after the range read, so read in pages until `limit` matches are found.
      for (;;) {
        const page = await this.backend.list(prefix, { startKey, limit: limit ? Math.max(limit, 100) : undefined });
        revision = revision || page.revision;
        let lastKey: string | undefined;
        for (const kv of page.kvs) {
          lastKey = kv.key;
          this.pushIfMatch(kind, kv, labels, fields, items);
          if (limit && items.length >= limit) break;
        }
        if (limit && items.length >= limit) {
          const more = lastKey !== page.kvs[page.kvs.length - 1]?.key || page.more;
          if (more) nextStart = `${lastKey}\u0000`;
          break;
        }
        if (!page.more || !lastKey) break;
        startKey = `${lastKey}\u0000`;
      }
    }
    const metadata: KList["metadata"] = { resourceVersion: String(revision) };
    if (nextStart) metadata.continue = btoa(JSON.stringify({ start: nextStart }));
    return { apiVersion: apiVersionOfKind(kind), kind: `${kind.kind}List`, metadata, items };
  }

  private pushIfMatch(kind: KindDefinition, kv: KeyValue, labels: ReturnType<typeof parseLabelSelector>, fields: ReturnType<typeof parseFieldSelector>, out: KObject[]) {
    const obj = decode(kind, kv);
    if (matchLabels(labels, obj.metadata.labels) && matchFields(fields, obj)) out.push(obj);
  }

  /** Creates an object (POST, or server-side apply of an absent object). */
  async create(kind: KindDefinition, namespace: string | undefined, input: KObject, ctx: WriteContext, operation: "Update" | "Apply" = "Update", opts: { uid?: string } = {}): Promise<KObject> {
    const obj = structuredClone(input);
    obj.apiVersion = apiVersionOfKind(kind);
    obj.kind = kind.kind;
    obj.metadata = obj.metadata ?? {};
    const md = obj.metadata;
    if (!md.name && md.generateName) md.name = md.generateName + randomSuffix();
    if (!md.name) throw invalid(this.target(kind), [{ field: "metadata.name", message: "Required value: name or generateName is required", reason: "FieldValueRequired" }]);
    if (kind.namespaced) {
      if (md.namespace && namespace && md.namespace !== namespace) throw badRequest(`the namespace of the provided object (${md.namespace}) does not match the namespace sent on the request (${namespace})`);
      md.namespace = namespace ?? md.namespace;
      if (!md.namespace) throw badRequest("a namespace is required for namespaced kind " + kind.kind);
      await this.checkNamespaceOpen(md.namespace);
    } else delete md.namespace;
    if (md.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
    delete md.deletionTimestamp;
    // Admission may pre-assign the uid so allocations it claims can name their owner before the object exists.
    md.uid = opts.uid ?? crypto.randomUUID();
    md.creationTimestamp = nowSeconds();
    md.generation = 1;
    if (kind.statusSubresource && operation === "Update") delete obj.status;
    kind.defaults?.(obj);
    this.validate(kind, obj);
    const changes = diffLeaves(undefined, obj);
    const own = new Ownership(undefined);
    const time = nowSeconds();
    if (operation === "Apply") own.apply({}, input as Record<string, unknown>, { manager: ctx.manager, apiVersion: obj.apiVersion, time, force: true });
    else own.recordUpdate(changes, { manager: ctx.manager, apiVersion: obj.apiVersion, time, force: true });
    md.managedFields = own.toManagedFields();
    if (ctx.dryRun) return { ...obj, metadata: { ...md, resourceVersion: "0" } };
    const key = objectKey(kind, md.namespace, md.name);
    const value = encode(obj);
    const res = await this.backend.create(key, value, { attach: this.history.attachment(kind, obj, { ctx, operation: "Create", changes, overridden: [] }) });
    if (!res.ok) throw alreadyExists(this.target(kind, md.name));
    const created = decode(kind, { key, value, createRevision: res.revision, modRevision: res.revision });
    this.afterWrite(kind, created, ctx, changes, []);
    return created;
  }

  /**
   * The one read–mutate–conditional-write loop. `mutate` gets the latest object and returns the desired
   * next version (or throws). Retries on lost compare-and-swap unless `expectRV` pins a version (then 409).
   */
  async guaranteedUpdate(
    kind: KindDefinition, namespace: string | undefined, name: string, ctx: WriteContext,
    mutate: (cur: KObject) => KObject | Promise<KObject>,
    opts: { expectRV?: string; operation?: "Update" | "Apply"; applyConfig?: Record<string, unknown>; createIfMissing?: () => Promise<KObject> } = {},
  ): Promise<KObject> {
    const key = objectKey(kind, namespace, name);
    return this.lock.run(key, async () => {
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const kv = await this.backend.get(key);
        if (!kv) {
          if (opts.createIfMissing) return opts.createIfMissing();
          throw notFound(this.target(kind, name));
        }
        const cur = decode(kind, kv);
        if (opts.expectRV !== undefined && opts.expectRV !== cur.metadata.resourceVersion) {
          this.onConflict?.(kind, ctx.manager, "stale");
          throw conflict(this.target(kind, name), "the object has been modified; please apply your changes to the latest version and try again");
        }
        const next = await mutate(structuredClone(cur));
        const prepared = this.prepareUpdate(kind, cur, next, ctx, opts.operation ?? "Update", opts.applyConfig);
        if (!prepared) return cur; // no-op write: nothing stored, nothing recorded
        const { obj, changes, overridden } = prepared;
        if (ctx.dryRun) return obj;
        if (obj.metadata.deletionTimestamp && (obj.metadata.finalizers ?? []).length === 0) {
          const delChanges = diffLeaves(cur, undefined);
          const del = await this.backend.delete(key, kv.modRevision, { attach: this.history.attachment(kind, obj, { ctx, operation: "Delete", changes: delChanges, overridden }) });
          if (!del.ok) continue;
          const gone = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(del.revision) } };
          this.afterWrite(kind, gone, ctx, delChanges, overridden);
          return gone;
        }
        const value = encode(obj);
        const res = await this.backend.update(key, value, kv.modRevision, { attach: this.history.attachment(kind, obj, { ctx, operation: opts.operation ?? "Update", changes, overridden }) });
        if (!res.ok) {
          if (opts.expectRV !== undefined) {
            this.onConflict?.(kind, ctx.manager, "stale");
            throw conflict(this.target(kind, name), "the object has been modified; please apply your changes to the latest version and try again");
          }
          continue;
        }
        // `obj` is ours (prepareUpdate built it from copies): stamp it instead of re-parsing what we just wrote.
        const stored = obj;
        stored.metadata.resourceVersion = String(res.revision);
        this.afterWrite(kind, stored, ctx, changes, overridden);
        return stored;
      }
      throw conflict(this.target(kind, name), `gave up after ${MAX_RETRIES} concurrent modifications; try again`);
    });
  }

  /** Builds the next stored version from `next`, enforcing server-owned fields and ownership; undefined = no change. */
  private prepareUpdate(kind: KindDefinition, cur: KObject, nextIn: KObject, ctx: WriteContext, operation: "Update" | "Apply", applyConfig?: Record<string, unknown>) {
    let next = structuredClone(nextIn);
    const status = ctx.subresource === "status";
    const t = this.target(kind, cur.metadata.name);
    next.metadata = next.metadata ?? {};
    if (next.metadata.name !== undefined && next.metadata.name !== cur.metadata.name) throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${cur.metadata.name})`);
    if (kind.namespaced && next.metadata.namespace && next.metadata.namespace !== cur.metadata.namespace) throw badRequest(`the namespace of the object (${next.metadata.namespace}) does not match the namespace on the URL (${cur.metadata.namespace})`);
    if (next.metadata.uid && next.metadata.uid !== cur.metadata.uid) throw conflict(t, `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${cur.metadata.uid}`);
    if (status) {
      // /status writes change status only (and may not touch spec or metadata).
      next = { ...structuredClone(cur), status: next.status };
    } else if (kind.statusSubresource) {
      next.status = structuredClone(cur.status);
      if (next.status === undefined) delete next.status;
    }
    const md = next.metadata;
    md.name = cur.metadata.name;
    if (kind.namespaced) md.namespace = cur.metadata.namespace;
    md.uid = cur.metadata.uid;
    md.creationTimestamp = cur.metadata.creationTimestamp;
    md.generation = cur.metadata.generation;
    md.deletionTimestamp = cur.metadata.deletionTimestamp;
    if (!md.deletionTimestamp) delete md.deletionTimestamp;
    delete md.resourceVersion;
    next.apiVersion = apiVersionOfKind(kind);
    next.kind = kind.kind;
    if (cur.metadata.deletionTimestamp) {
      const added = (md.finalizers ?? []).filter((f) => !(cur.metadata.finalizers ?? []).includes(f));
      if (added.length) throw forbidden(`${kind.kind} "${cur.metadata.name}" is being deleted: no new finalizers can be added (${added.join(", ")})`);
    }
    kind.defaults?.(next);
    this.validate(kind, next, cur);

    const scope = status ? "status" : kind.statusSubresource ? "main" : "all";
    // Client-supplied managedFields replace ours (kubectl's client-side → server-side apply migration).
    const clientMF = nextIn.metadata?.managedFields;
    const baseMF = clientMF !== undefined && !jsonEqual(clientMF, cur.metadata.managedFields) ? clientMF : cur.metadata.managedFields;
    const own = new Ownership(cur.metadata.managedFields);
    const time = nowSeconds();
    let overridden: OwnershipConflict[] = [];
    let changes: FieldChange[];
    if (operation === "Apply") {
      const res = own.apply(cur as Record<string, unknown>, applyConfig ?? {}, { manager: ctx.manager, apiVersion: next.apiVersion, time, subresource: ctx.subresource, force: !!ctx.force });
      if (!res.merged) throw this.applyConflict(kind, cur, res.conflicts);
      const merged = res.merged as KObject;
      merged.metadata = { ...merged.metadata, ...pick(md, ["name", "namespace", "uid", "creationTimestamp", "generation", "deletionTimestamp"]) };
      next = merged;
      kind.defaults?.(next);
      this.validate(kind, next, cur);
      changes = diffLeaves(cur, next, scope);
    } else {
      changes = diffLeaves(cur, next, scope);
      const conflicts = own.recordUpdate(changes, { manager: ctx.manager, apiVersion: next.apiVersion, time, subresource: ctx.subresource, force: false });
      if (conflicts.length) {
        if (!ctx.force) {
          for (const c of conflicts) this.onConflict?.(kind, c.manager, "ownership");
          throw this.removalConflict(kind, cur, conflicts);
        }
        overridden = conflicts;
        own.recordUpdate(changes, { manager: ctx.manager, apiVersion: next.apiVersion, time, subresource: ctx.subresource, force: true });
      }
    }
    if (baseMF !== cur.metadata.managedFields) {
      const adopted = new Ownership(baseMF);
      adopted.prune(next as Record<string, unknown>);
      next.metadata.managedFields = adopted.toManagedFields();
    } else {
      // Ownership of removed fields was already released by recordUpdate/apply; a full prune only matters
      // when something disappeared, and it walks the whole object.
      if (changes.some((c) => c.op === "remove")) own.prune(next as Record<string, unknown>);
      next.metadata.managedFields = own.toManagedFields();
    }
    const genFields = kind.generationFields ?? ["spec"];
    if (genFields.some((f) => !jsonEqual(cur[f], next[f]))) next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
    // A write that changes no field and no ownership is a no-op (kubectl apply prints "unchanged"); the
    // timestamps inside managedFields do not count, or every re-apply would create a new version.
    const curMF = cur.metadata.managedFields;
    if (changes.length === 0 && jsonEqual(withoutTimes(curMF), withoutTimes(next.metadata.managedFields)) && !(next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0)) return undefined;
    return { obj: next, changes, overridden };
  }

  private removalConflict(kind: KindDefinition, cur: KObject, unsorted: OwnershipConflict[]) {
    // Sorted, so the same refusal always reads the same (map order follows write order).
    const conflicts = unsorted.map((c) => ({ manager: c.manager, paths: [...c.paths].sort((a, b) => (formatPath(a) < formatPath(b) ? -1 : 1)) })).sort((a, b) => (a.manager < b.manager ? -1 : 1));
    const parts = conflicts.map((c) => `${c.paths.map(formatPath).join(", ")} owned by "${c.manager}"`);
    const causes: StatusCause[] = conflicts.flatMap((c) => c.paths.map((p) => ({ reason: "FieldManagerConflict", field: formatPath(p), message: `conflict with "${c.manager}": this write would remove it` })));
    return conflict(this.target(kind, cur.metadata.name), `this write would remove fields owned by other field managers: ${parts.join("; ")}. Re-read the object and keep those fields, or repeat the request with force=true to take them over`, causes);
  }

  private applyConflict(kind: KindDefinition, cur: KObject, conflicts: OwnershipConflict[]) {
    const n = conflicts.reduce((a, c) => a + c.paths.length, 0);
    const lines = conflicts.flatMap((c) => c.paths.map((p) => `conflict with "${c.manager}": .${formatPath(p)}`));
    const e = conflict(this.target(kind, cur.metadata.name), "", conflicts.flatMap((c) => c.paths.map((p) => ({ reason: "FieldManagerConflict", field: `.${formatPath(p)}`, message: `conflict with "${c.manager}"` }))));
    return Object.assign(e, { message: `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${lines.join("\n")}` });
  }

  /** Deletes an object; with finalizers it only gets a deletionTimestamp. Returns the (last) object and whether it is gone. */
  async delete(kind: KindDefinition, namespace: string | undefined, name: string, ctx: WriteContext, pre: { uid?: string; resourceVersion?: string } = {}): Promise<{ obj: KObject; gone: boolean }> {
    const key = objectKey(kind, namespace, name);
    return this.lock.run(key, async () => {
      for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
        const kv = await this.backend.get(key);
        if (!kv) throw notFound(this.target(kind, name));
        const cur = decode(kind, kv);
        if (pre.uid && pre.uid !== cur.metadata.uid) throw conflict(this.target(kind, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
        if (pre.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) throw conflict(this.target(kind, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
        if ((cur.metadata.finalizers ?? []).length > 0) {
          if (cur.metadata.deletionTimestamp) return { obj: cur, gone: false };
          const next = structuredClone(cur);
          next.metadata.deletionTimestamp = nowSeconds();
          delete next.metadata.resourceVersion;
          kind.defaults?.(next);
          if (ctx.dryRun) return { obj: next, gone: false };
          const value = encode(next);
          const markChanges: FieldChange[] = [{ path: ["metadata", "deletionTimestamp"], op: "set", value: next.metadata.deletionTimestamp }];
          const res = await this.backend.update(key, value, kv.modRevision, { attach: this.history.attachment(kind, next, { ctx, operation: "Delete", changes: markChanges, overridden: [] }) });
          if (!res.ok) continue;
          const stored = decode(kind, { key, value, createRevision: kv.createRevision, modRevision: res.revision });
          this.afterWrite(kind, stored, ctx, markChanges, []);
          return { obj: stored, gone: false };
        }
        if (ctx.dryRun) return { obj: cur, gone: true };
        const delChanges = diffLeaves(cur, undefined);
        const res = await this.backend.delete(key, kv.modRevision, { attach: this.history.attachment(kind, cur, { ctx, operation: "Delete", changes: delChanges, overridden: [] }) });
        if (!res.ok) continue;
        const gone = { ...cur, metadata: { ...cur.metadata, resourceVersion: String(res.revision) } };
        this.afterWrite(kind, gone, ctx, delChanges, []);
        return { obj: gone, gone: true };
      }
      throw conflict(this.target(kind, name), "too many concurrent modifications; try again");
    });
  }

  private validate(kind: KindDefinition, obj: KObject, old?: KObject): void {
    const causes = validateObject(obj, kind, old);
    if (causes.length) throw invalid(this.target(kind, obj.metadata.name), causes);
  }

  private async checkNamespaceOpen(ns: string): Promise<void> {
    const kv = await this.backend.get(objectKey(NamespaceKind, undefined, ns));
    if (!kv) throw notFound({ resource: "namespaces", name: ns });
    const obj = decode(NamespaceKind, kv);
    if (obj.metadata.deletionTimestamp) throw forbidden(`unable to create new content in namespace ${ns} because it is being terminated`);
  }

  private afterWrite(kind: KindDefinition, obj: KObject, ctx: WriteContext, changes: FieldChange[], overridden: OwnershipConflict[]): void {
    this.history.written(kind, obj);
    this.onWrite?.({ kind, obj, ctx, changes, overridden });
  }
}

function withoutTimes(mf: KObject["metadata"]["managedFields"]): unknown {
  return (mf ?? []).map(({ time: _t, ...rest }) => rest);
}

function pick<T extends object>(o: T, keys: (keyof T)[]): Partial<T> {
  const out: Partial<T> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** RFC 3339 at second precision, as Kubernetes timestamps. */
export function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

function randomSuffix(): string {
  const chars = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
