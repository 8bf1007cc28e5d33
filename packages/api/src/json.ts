/**
 * JSON helpers shared by server, CLI and dashboard: structural equality, and RFC 7386 merge patches
 * (applying one on the server, computing one from two versions for `kumo edit`).
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * The merge patch turning `from` into `to`: changed and added keys with their new values, removed keys
 * as null, arrays replaced whole (merge patch cannot address list items). `{}` means no change.
 */
export function createMergePatch(from: unknown, to: unknown): Record<string, unknown> {
  const p = diff(from as Json, to as Json);
  return isObject(p) ? p : {};
}

function diff(a: Json, b: Json): Json | undefined {
  if (!isObject(a) || !isObject(b)) return deepEqual(a, b) ? undefined : b;
  const out: { [k: string]: Json } = {};
  for (const k of Object.keys(a)) if (!(k in b)) out[k] = null;
  for (const [k, v] of Object.entries(b)) {
    if (!(k in a)) {
      out[k] = v;
      continue;
    }
    const d = diff(a[k], v);
    if (d !== undefined) out[k] = d;
  }
  return Object.keys(out).length ? out : undefined;
}

function isObject(v: unknown): v is { [k: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b as object);
  return (
    ka.length === kb.length &&
    ka.every((k) => k in (b as object) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

/** Applies an RFC 7386 merge patch: null deletes, maps merge, everything else replaces. Returns a new value. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}
