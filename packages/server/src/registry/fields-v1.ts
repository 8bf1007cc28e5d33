/** managedFields' FieldsV1 encoding (a trie of "f:"-prefixed keys) to and from kumo's field paths. */
import type { FieldPath } from "./field-paths.js";

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
      node[k] = node[k] ?? {};
      node = node[k] as Record<string, unknown>;
    }
  }
  return root;
}
