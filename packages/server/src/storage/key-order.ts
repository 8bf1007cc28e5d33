/**
 * Key ordering shared by all backends.
 *
 * Keys sort by Unicode code point, which is the same as UTF-8 byte order — the order SQLite's BINARY
 * collation and etcd use. JavaScript's `<` compares UTF-16 code units instead, which disagrees for
 * astral characters vs U+E000..U+FFFF, so the memory backend must not use it directly.
 */

/** Compare two keys by code point (= UTF-8 byte order); negative, zero or positive like `Array.sort`. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return rank(x) - rank(y);
  }
  return a.length - b.length;
}

/** Surrogates (which only occur in astral characters) must sort above every BMP code unit. */
function rank(unit: number): number {
  return unit >= 0xd800 && unit <= 0xdfff ? unit + 0x10000 : unit;
}

/**
 * Smallest string greater than every string starting with `prefix` (etcd's "prefix end"), or
 * undefined when no such bound exists (empty prefix, or only U+10FFFF characters).
 * Incrementing the last code point keeps the bound exact: `prefix <= k < end` iff k starts with prefix.
 */
export function prefixEnd(prefix: string): string | undefined {
  const cps = Array.from(prefix);
  while (cps.length > 0) {
    const last = cps.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // Skip the surrogate block: those are not characters and cannot appear in well-formed keys.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return cps.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** The later (by key order) of two keys; used to combine a prefix with a pagination start key. */
export function maxKey(a: string, b: string): string {
  return compareKeys(a, b) >= 0 ? a : b;
}
