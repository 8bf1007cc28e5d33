/**
 * Field ownership (managedFields), as Kubernetes server-side apply records it, plus kumo's extra rule:
 * an Update that would REMOVE a field owned by another manager is a conflict unless forced. That rule is
 * what makes "a management server replaced the whole annotation map and silently wiped the agent's keys"
 * fail loudly instead.
 */
import {
  type ApiError,
  type ConflictCause,
  type ErrorTarget,
  type KObject,
  type ManagedFieldsEntry,
  type StatusCause,
  conflict,
} from "@kumo/api";
import {
  type FieldChange,
  type FieldPath,
  deepMerge,
  deletePath,
  diffLeaves,
  formatPath,
  getPath,
  jsonEqual,
  leaves,
  pathKey,
} from "./field-paths.js";
import { fromFieldsV1, toFieldsV1 } from "./fields-v1.js";
import { nowSeconds } from "./object-meta.js";
import type { WriteScope } from "./strategy.js";

/** Who (manager) would lose which fields. */
export interface OwnershipConflict {
  manager: string;
  paths: FieldPath[];
}

interface Owned {
  meta: Omit<ManagedFieldsEntry, "fieldsV1">;
  paths: Map<string, FieldPath>;
}

function entryKey(m: { manager: string; operation: string; subresource?: string }): string {
  return `${m.manager}\u0000${m.operation}\u0000${m.subresource ?? ""}`;
}

/** Mutable view of an object's managedFields. */
export class Ownership {
  private readonly entries = new Map<string, Owned>();

  constructor(managedFields: ManagedFieldsEntry[] | undefined) {
    for (const e of managedFields ?? []) {
      const { fieldsV1, ...meta } = e;
      const paths = new Map<string, FieldPath>();
      for (const p of fromFieldsV1(fieldsV1)) paths.set(pathKey(p), p);
      this.entries.set(entryKey(meta), { meta, paths });
    }
  }

  /** Managers (other than `manager`) that own `path`. */
  ownersOf(path: FieldPath, exceptManager?: string): string[] {
    const k = pathKey(path);
    const out: string[] = [];
    for (const o of this.entries.values()) if (o.meta.manager !== exceptManager && o.paths.has(k)) out.push(o.meta.manager);
    return [...new Set(out)];
  }

  /** All paths one entry owns. */
  pathsOf(manager: string, operation: "Apply" | "Update", subresource?: string): FieldPath[] {
    return [...(this.entries.get(entryKey({ manager, operation, subresource }))?.paths.values() ?? [])];
  }

  private release(path: FieldPath, exceptManager?: string): void {
    const k = pathKey(path);
    for (const o of this.entries.values()) if (o.meta.manager !== exceptManager) o.paths.delete(k);
  }

  private entry(manager: string, operation: "Apply" | "Update", apiVersion: string, time: string, subresource?: string): Owned {
    const key = entryKey({ manager, operation, subresource });
    let o = this.entries.get(key);
    if (!o) {
      o = {
        meta: { manager, operation, apiVersion, time, fieldsType: "FieldsV1", ...(subresource ? { subresource } : {}) },
        paths: new Map(),
      };
      this.entries.set(key, o);
    }
    o.meta.time = time;
    o.meta.apiVersion = apiVersion;
    return o;
  }

  /**
   * Records an Update: changed leaves move to `manager`; removed leaves owned by others are conflicts
   * (returned, nothing changed) unless `force`, in which case the other managers lose them.
   */
  recordUpdate(
    changes: FieldChange[],
    opts: { manager: string; apiVersion: string; time: string; subresource?: string; force: boolean },
  ): OwnershipConflict[] {
    const conflicts = new Map<string, FieldPath[]>();
    for (const c of changes) {
      if (c.op !== "remove") continue;
      for (const m of this.ownersOf(c.path, opts.manager)) conflicts.set(m, [...(conflicts.get(m) ?? []), c.path]);
    }
    if (conflicts.size > 0 && !opts.force) return [...conflicts].map(([manager, paths]) => ({ manager, paths }));
    const mine = changes.some((c) => c.op === "set")
      ? this.entry(opts.manager, "Update", opts.apiVersion, opts.time, opts.subresource)
      : undefined;
    for (const c of changes) {
      if (c.op === "remove") {
        this.release(c.path);
        continue;
      }
      this.release(c.path, undefined);
      mine!.paths.set(pathKey(c.path), c.path);
    }
    return [];
  }

  /**
   * Server-side apply of `config` (a partial object) onto `live`. Returns the merged object or the conflicts:
   * a field the config sets to a different value than another manager's is a conflict unless `force`.
   * Fields this manager applied before and no longer applies are removed when nobody else owns them.
   */
  apply(
    live: Record<string, unknown>,
    config: Record<string, unknown>,
    opts: { manager: string; apiVersion: string; time: string; subresource?: string; force: boolean },
  ): { merged?: Record<string, unknown>; conflicts: OwnershipConflict[] } {
    const scope = opts.subresource === "status" ? "status" : "main";
    const cfg = leaves(config, scope);
    const conflicts = new Map<string, FieldPath[]>();
    for (const { path, value } of cfg.values()) {
      const cur = getPath(live, path);
      if (cur === undefined || jsonEqual(cur, value)) continue;
      for (const m of this.ownersOf(path, opts.manager)) conflicts.set(m, [...(conflicts.get(m) ?? []), path]);
    }
    if (conflicts.size > 0 && !opts.force)
      return { conflicts: [...conflicts].map(([manager, paths]) => ({ manager, paths })), merged: undefined };

    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
      if (k === "apiVersion" || k === "kind") continue;
      if (scope === "main" && k === "status") continue;
      if (scope === "status" && k !== "status") continue;
      if (k === "metadata") {
        const md = v as Record<string, unknown>;
        const owned: Record<string, unknown> = {};
        for (const mk of ["labels", "annotations", "finalizers", "ownerReferences"]) if (md?.[mk] !== undefined) owned[mk] = md[mk];
        body.metadata = owned;
      } else body[k] = v;
    }
    const merged = deepMerge(live, body) as Record<string, unknown>;
    const mine = this.entry(opts.manager, "Apply", opts.apiVersion, opts.time, opts.subresource);
    for (const [k, p] of mine.paths) {
      if (cfg.has(k)) continue;
      mine.paths.delete(k);
      if (this.ownersOf(p).length === 0) deletePath(merged, p);
    }
    for (const [k, { path, value }] of cfg) {
      const cur = getPath(live, path);
      if (cur !== undefined && !jsonEqual(cur, value)) this.release(path, opts.manager); // forced takeover
      mine.paths.set(k, path);
    }
    return { merged, conflicts: [] };
  }

  /** Drops ownership of paths that no longer exist in `obj` (e.g. removed by a JSON patch that was allowed). */
  prune(obj: Record<string, unknown>): void {
    const present = leaves(obj);
    for (const o of this.entries.values()) for (const k of o.paths.keys()) if (!present.has(k)) o.paths.delete(k);
  }

  /** Serialises back to managedFields (entries that own nothing are dropped, as Kubernetes does). */
  toManagedFields(): ManagedFieldsEntry[] {
    const out: ManagedFieldsEntry[] = [];
    for (const o of this.entries.values()) {
      if (o.paths.size === 0) continue;
      out.push({ ...o.meta, fieldsV1: toFieldsV1(o.paths.values()) });
    }
    return out;
  }
}

/** Who writes, for the field-manager step. */
export interface FieldManagerWriter {
  operation: "Update" | "Apply";
  manager: string;
  subresource?: "status";
  force: boolean;
  /** apiVersion recorded in the manager's entry. */
  apiVersion: string;
}

/** What the field-manager step found: the leaf changes of the write and the owners a forced write overrode. */
export interface ManagedChanges {
  changes: FieldChange[];
  overridden: OwnershipConflict[];
}

/**
 * The field-manager step of one update (Kubernetes' fieldmanager.FieldManager), in three calls: `merge`
 * builds an Apply's candidate (the config merged into the stored object; an Update's candidate is what the
 * writer sent), `record` moves ownership of the changed leaves to the writer and refuses taking
 * fields from other managers unless forced, `finish` writes the resulting managedFields into the object.
 */
export class FieldManager {
  private readonly own: Ownership;
  private readonly time = nowSeconds();

  /** `onConflict` is told each manager whose fields an unforced Update would have removed (metrics). */
  constructor(
    private readonly cur: KObject,
    private readonly w: FieldManagerWriter,
    private readonly t: ErrorTarget,
    private readonly onConflict?: (manager: string) => void,
  ) {
    this.own = new Ownership(cur.metadata.managedFields);
  }

  /** Apply: the stored object with `config` merged in; 409 when it sets fields other managers own, unless forced. */
  merge(config: Record<string, unknown> | undefined): KObject {
    const res = this.own.apply(this.cur, config ?? {}, { ...this.w, time: this.time });
    if (!res.merged) throw applyConflict(this.t, res.conflicts);
    return res.merged as KObject;
  }

  /** The leaf changes from the stored object to `next` within `scope`; an Update's leaves become the writer's. */
  record(next: KObject, scope: WriteScope): ManagedChanges {
    const changes = diffLeaves(this.cur, next, scope);
    if (this.w.operation === "Apply") return { changes, overridden: [] }; // ownership moved in merge
    const opts = { ...this.w, time: this.time, force: false };
    const conflicts = this.own.recordUpdate(changes, opts);
    if (!conflicts.length) return { changes, overridden: [] };
    if (!this.w.force) {
      for (const c of conflicts) this.onConflict?.(c.manager);
      throw removalConflict(this.t, conflicts);
    }
    this.own.recordUpdate(changes, { ...opts, force: true });
    return { changes, overridden: conflicts };
  }

  /**
   * Stores the managedFields in `next`. Client-supplied managedFields that differ from the stored ones replace
   * them (kubectl's client-side → server-side apply migration), pruned to the fields that still exist.
   */
  finish(next: KObject, clientManagedFields: ManagedFieldsEntry[] | undefined, changes: FieldChange[]): void {
    const stored = this.cur.metadata.managedFields;
    if (clientManagedFields !== undefined && !jsonEqual(clientManagedFields, stored)) {
      const adopted = new Ownership(clientManagedFields);
      adopted.prune(next);
      next.metadata.managedFields = adopted.toManagedFields();
      return;
    }
    // Ownership of removed fields was already released by recordUpdate/apply; a full prune only matters
    // when something disappeared, and it walks the whole object.
    if (changes.some((c) => c.op === "remove")) this.own.prune(next);
    next.metadata.managedFields = this.own.toManagedFields();
  }
}

/** Create: every leaf of the new object (or of the applied config) belongs to the creating manager. */
export function manageCreate(obj: KObject, config: KObject, operation: "Update" | "Apply", manager: string): FieldChange[] {
  const changes = diffLeaves(undefined, obj);
  const own = new Ownership(undefined);
  const opts = { manager, apiVersion: obj.apiVersion, time: nowSeconds(), force: true };
  if (operation === "Apply") own.apply({}, config, opts);
  else own.recordUpdate(changes, opts);
  obj.metadata.managedFields = own.toManagedFields();
  return changes;
}

/** True when two managedFields lists differ in more than their timestamps (a re-apply refreshes those). */
export function managedFieldsChanged(a: ManagedFieldsEntry[] | undefined, b: ManagedFieldsEntry[] | undefined): boolean {
  const withoutTimes = (mf: ManagedFieldsEntry[] | undefined) => (mf ?? []).map(({ time: _t, ...rest }) => rest);
  return !jsonEqual(withoutTimes(a), withoutTimes(b));
}

const FIELD_MANAGER_CONFLICT: ConflictCause = "FieldManagerConflict";

/** kumo's removal rule refused an Update: one cause per field, sorted so the same refusal always reads the same. */
function removalConflict(t: ErrorTarget, unsorted: OwnershipConflict[]): ApiError {
  const byPath = (a: FieldPath, b: FieldPath) => (formatPath(a) < formatPath(b) ? -1 : 1);
  const conflicts = unsorted
    .map((c) => ({ manager: c.manager, paths: [...c.paths].sort(byPath) }))
    .sort((a, b) => (a.manager < b.manager ? -1 : 1));
  const parts = conflicts.map((c) => `${c.paths.map(formatPath).join(", ")} owned by "${c.manager}"`);
  const causes: StatusCause[] = conflicts.flatMap((c) =>
    c.paths.map((p) => ({
      reason: FIELD_MANAGER_CONFLICT,
      field: formatPath(p),
      message: `conflict with "${c.manager}": this write would remove it`,
    })),
  );
  const why =
    `this write would remove fields owned by other field managers: ${parts.join("; ")}. ` +
    "Re-read the object and keep those fields, or repeat the request with force=true to take them over";
  return conflict(t, why, causes);
}

/** Server-side apply refused: Kubernetes' wording ("Apply failed with N conflicts"), one cause per field. */
function applyConflict(t: ErrorTarget, conflicts: OwnershipConflict[]): ApiError {
  const n = conflicts.reduce((a, c) => a + c.paths.length, 0);
  const lines = conflicts.flatMap((c) => c.paths.map((p) => `conflict with "${c.manager}": .${formatPath(p)}`));
  const causes = conflicts.flatMap((c) =>
    c.paths.map((p) => ({ reason: FIELD_MANAGER_CONFLICT, field: `.${formatPath(p)}`, message: `conflict with "${c.manager}"` })),
  );
  const e = conflict(t, "", causes);
  return Object.assign(e, { message: `Apply failed with ${n} conflict${n === 1 ? "" : "s"}: ${lines.join("\n")}` });
}
