/**
 * Field paths over objects: the unit of ownership (managedFields) and of write history.
 * A path is a list of keys; lists and scalars are leaves (Kubernetes treats lists of this API as atomic),
 * maps are walked. Empty maps are not leaves, so "annotations: {}" never claims the whole map.
 */

import { deepEqual as jsonEqual } from "@kumo/api";

/** Structural equality of JSON values (re-exported for the registry's callers). */
export { jsonEqual };

/** A path from the object root, e.g. ["metadata", "annotations", "network.kumo.dev/vtep-ip"]. */
export type FieldPath = string[];

/** Metadata fields that are owned by writers; the rest (uid, resourceVersion, ...) belong to the server. */
const OWNED_METADATA = new Set(["labels", "annotations", "finalizers", "ownerReferences"]);
/** Top-level fields that are never owned (identity of the document). */
const UNOWNED_TOP = new Set(["apiVersion", "kind"]);

function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Stable string key of a path, used in sets and maps (NUL cannot occur in JSON keys we accept). */
export function pathKey(p: FieldPath): string {
  return p.join("\u0000");
}

/** Human form: `metadata.annotations[network.kumo.dev/vtep-ip]`, `spec.capacity.cpu`. */
export function formatPath(p: FieldPath): string {
  let out = "";
  for (const seg of p) out += /^[A-Za-z_][A-Za-z0-9_]*$/.test(seg) ? (out ? `.${seg}` : seg) : `[${seg}]`;
  return out;
}

/** Every owned leaf of `obj` with its value. `scope` limits to "status" or everything but status. */
export function leaves(
  obj: Record<string, unknown>,
  scope: "main" | "status" | "all" = "all",
): Map<string, { path: FieldPath; value: unknown }> {
  const out = new Map<string, { path: FieldPath; value: unknown }>();
  const walk = (v: unknown, path: FieldPath) => {
    if (isMap(v)) {
      for (const [k, child] of Object.entries(v)) walk(child, [...path, k]);
      return;
    }
    if (v === undefined) return;
    out.set(pathKey(path), { path, value: v });
  };
  for (const [k, v] of Object.entries(obj)) {
    if (UNOWNED_TOP.has(k)) continue;
    if (scope === "main" && k === "status") continue;
    if (scope === "status" && k !== "status") continue;
    if (k === "metadata" && isMap(v)) {
      for (const [mk, mv] of Object.entries(v)) if (OWNED_METADATA.has(mk)) walk(mv, ["metadata", mk]);
      continue;
    }
    walk(v, [k]);
  }
  return out;
}

/** One change between two versions of an object. */
export interface FieldChange {
  path: FieldPath;
  op: "set" | "remove";
  value?: unknown;
  previous?: unknown;
}

/** Leaf-level diff: set for new or changed leaves, remove for leaves that disappeared. */
export function diffLeaves(
  before: Record<string, unknown> | undefined,
  after: Record<string, unknown> | undefined,
  scope: "main" | "status" | "all" = "all",
): FieldChange[] {
  const none = new Map<string, { path: FieldPath; value: unknown }>();
  const a = before ? leaves(before, scope) : none;
  const b = after ? leaves(after, scope) : none;
  const changes: FieldChange[] = [];
  for (const [k, nb] of b) {
    const na = a.get(k);
    if (!na) changes.push({ path: nb.path, op: "set", value: nb.value });
    else if (!jsonEqual(na.value, nb.value)) changes.push({ path: nb.path, op: "set", value: nb.value, previous: na.value });
  }
  for (const [k, na] of a) if (!b.has(k)) changes.push({ path: na.path, op: "remove", previous: na.value });
  return changes;
}

/** Reads the value at a path (undefined when absent). */
export function getPath(obj: unknown, p: FieldPath): unknown {
  let cur = obj;
  for (const seg of p) {
    if (!isMap(cur)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

/** Deletes the value at a path, then prunes maps it left empty (so removing the last label drops `labels`). */
export function deletePath(obj: Record<string, unknown>, p: FieldPath): void {
  const stack: Record<string, unknown>[] = [];
  let cur: unknown = obj;
  for (const seg of p.slice(0, -1)) {
    if (!isMap(cur)) return;
    stack.push(cur);
    cur = cur[seg];
  }
  if (!isMap(cur)) return;
  delete cur[p[p.length - 1]];
  for (let i = p.length - 2; i >= 1; i--) {
    const parent = stack[i];
    const child = parent[p[i]];
    if (isMap(child) && Object.keys(child).length === 0 && !(i === 1 && p[0] === "metadata" && false)) delete parent[p[i]];
    else break;
  }
}

/** Deep-merges `patch` into `base` (maps merged recursively, everything else replaced). Returns a new object. */
export function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isMap(base) || !isMap(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(patch)) out[k] = k in base ? deepMerge(base[k], v) : structuredClone(v);
  return out;
}
