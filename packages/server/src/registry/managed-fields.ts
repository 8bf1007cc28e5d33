/**
 * Field ownership (managedFields), as Kubernetes server-side apply records it, plus kumo's extra rule:
 * an Update that would REMOVE a field owned by another manager is a conflict unless forced. That rule is
 * what makes "a management server replaced the whole annotation map and silently wiped the agent's keys"
 * fail loudly instead.
 */
import type { ManagedFieldsEntry } from "@kumo/api";
import { type FieldChange, type FieldPath, deepMerge, deletePath, getPath, jsonEqual, leaves, pathKey } from "./field-paths.js";

/** Who (manager) would lose which fields. */
export interface OwnershipConflict {
  manager: string;
  paths: FieldPath[];
}

interface Owned {
  meta: Omit<ManagedFieldsEntry, "fieldsV1">;
  paths: Map<string, FieldPath>;
}

/** FieldsV1 trie → paths ("f:" prefixed keys; "." marks the node itself). */
export function fromFieldsV1(f: Record<string, unknown>, prefix: FieldPath = []): FieldPath[] {
  const out: FieldPath[] = [];
  for (const [k, v] of Object.entries(f ?? {})) {
    if (k === ".") continue;
    const seg = k.startsWith("f:") ? k.slice(2) : k.startsWith("k:") || k.startsWith("v:") || k.startsWith("i:") ? undefined : k;
    if (seg === undefined) continue; // list item keys: our lists are atomic, so ownership stops at the list
    const child = v as Record<string, unknown>;
    const childKeys = Object.keys(child ?? {}).filter((x) => x.startsWith("f:"));
    if (childKeys.length === 0) out.push([...prefix, seg]);
    else out.push(...fromFieldsV1(child, [...prefix, seg]));
  }
  return out;
}

/** Paths → FieldsV1 trie. */
export function toFieldsV1(paths: Iterable<FieldPath>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const p of paths) {
    let node = root;
    for (const seg of p) {
      const k = `f:${seg}`;
      node[k] = (node[k] as Record<string, unknown>) ?? {};
      node = node[k] as Record<string, unknown>;
    }
  }
  return root;
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
      for (const p of fromFieldsV1(fieldsV1 as Record<string, unknown>)) paths.set(pathKey(p), p);
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
      o = { meta: { manager, operation, apiVersion, time, fieldsType: "FieldsV1", ...(subresource ? { subresource } : {}) }, paths: new Map() };
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
  recordUpdate(changes: FieldChange[], opts: { manager: string; apiVersion: string; time: string; subresource?: string; force: boolean }): OwnershipConflict[] {
    const conflicts = new Map<string, FieldPath[]>();
    for (const c of changes) {
      if (c.op !== "remove") continue;
      for (const m of this.ownersOf(c.path, opts.manager)) conflicts.set(m, [...(conflicts.get(m) ?? []), c.path]);
    }
    if (conflicts.size > 0 && !opts.force) return [...conflicts].map(([manager, paths]) => ({ manager, paths }));
    const mine = changes.some((c) => c.op === "set") ? this.entry(opts.manager, "Update", opts.apiVersion, opts.time, opts.subresource) : undefined;
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
    if (conflicts.size > 0 && !opts.force) return { conflicts: [...conflicts].map(([manager, paths]) => ({ manager, paths })), merged: undefined };

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
