/**
 * One keyed lock for the whole codebase: runs async sections one at a time per key, in arrival order, inside
 * this process. It is no substitute for compare-and-swap against the store (another process can still race);
 * it keeps one process's own writers of a key (one instance's driver calls, one object's writes) in order.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier holder of `key` has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.then(() => mine);
    this.tails.set(key, tail);
    await prev;
    try {
      return await fn();
    } finally {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** True while some holder has or waits for `key`. */
  isHeld(key: string): boolean {
    return this.tails.has(key);
  }

  /** Keys held or waited for (for /debug/state). */
  get size(): number {
    return this.tails.size;
  }
}
