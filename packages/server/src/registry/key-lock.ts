/**
 * Serialises writes to one key inside this process. The store's compare-and-swap stays the source of truth
 * (another server on a shared etcd can still race us, and we retry then); the lock only spares hot keys
 * from retry storms when many in-process writers patch one object at once.
 */
export class KeyLock {
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

  /** Keys with writers queued (for /debug/state). */
  get size(): number {
    return this.tails.size;
  }
}
