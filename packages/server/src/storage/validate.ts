/** Argument checks shared by the backends, so every backend refuses the same bad input the same way. */

/** Throws TypeError unless `key` is a non-empty string (etcd refuses empty keys too). */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key.length === 0) throw new TypeError("storage key must be a non-empty string");
}

/** Throws TypeError unless `value` is a string. */
export function checkValue(value: unknown): asserts value is string {
  if (typeof value !== "string") throw new TypeError("storage value must be a string");
}

/** Throws TypeError unless `rev` is a non-negative safe integer. */
export function checkRevision(rev: unknown, what: string): asserts rev is number {
  if (typeof rev !== "number" || !Number.isSafeInteger(rev) || rev < 0) {
    throw new TypeError(`${what} must be a non-negative integer`);
  }
}
