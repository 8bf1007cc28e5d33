/**
 * The storage contract: an etcd-shaped key/value store with a global revision counter.
 *
 * Every mutation bumps the store-wide revision by one and stamps the key with it (`modRevision`).
 * Compare-and-swap is expressed as "update if the key's modRevision is still X"; losing the race is a
 * value (`ok: false`, with the current kv), never an exception, so callers can retry without try/catch.
 * Implementations: sqlite:// (default, durable; memory:// is the same code on `:memory:`), etcd:// (HA, later).
 * One conformance suite (`conformance.ts`) runs against all of them.
 */

/** One key at one revision. `value` is an opaque string (kumo stores JSON). */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision at which the key was created (stays until the key is deleted). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
}

/** Result of a conditional write. On `ok: false` `kv` is the current value (absent if the key does not exist). */
export interface WriteResult {
  ok: boolean;
  /** Store revision after the write (or the current revision when the write was refused). */
  revision: number;
  kv?: KeyValue;
}

export interface ListOptions {
  /** Return keys >= startKey (for pagination: last key of the previous page + "\0"). */
  startKey?: string;
  /** Maximum number of keys to return (0/undefined: all). */
  limit?: number;
}

export interface ListResult {
  kvs: KeyValue[];
  /** Store revision the list was read at. */
  revision: number;
  /** True when more keys match beyond `limit`. */
  more: boolean;
}

/** A change, as delivered by watch. For DELETE, `kv` is the deleted value with modRevision = the delete's revision. */
export interface WatchEvent {
  type: "PUT" | "DELETE";
  kv: KeyValue;
  /** Value before this change (absent for creates). */
  prevKv?: KeyValue;
}

/** Thrown (as an exception, unlike conflicts) when a watch asks for a revision older than the compacted one. */
export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compactRevision: number,
  ) {
    super(`revision ${requested} has been compacted (oldest available: ${compactRevision + 1})`);
    this.name = "CompactedError";
  }
}

export interface WatchOptions {
  /** Deliver every change with revision > afterRevision (history first, then live). */
  afterRevision: number;
  signal: AbortSignal;
}

export interface BackendStats {
  /** Bytes on disk (0 for memory). */
  dbSizeBytes: number;
  revision: number;
  compactRevision: number;
  keys: number;
}

/**
 * Options of a write. `attach` adds a second key to the same atomic commit, written only if the main
 * write succeeds: the object layer records each write's history entry this way, so a write costs one
 * durable commit and its history can never exist without it (or the other way round). The function gets
 * the main write's revision; the attached key is a create (it must not exist) and gets the next revision.
 * An etcd backend maps this onto one Txn.
 */
export interface WriteOptions {
  attach?: (revision: number) => { key: string; value: string };
}

export interface Backend {
  /** URL scheme this backend serves, e.g. "sqlite". */
  readonly kind: string;
  get(key: string): Promise<KeyValue | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Create; refused (ok:false, kv: existing) if the key exists. */
  create(key: string, value: string, opts?: WriteOptions): Promise<WriteResult>;
  /** Update only if the key's modRevision still equals `modRevision`. */
  update(key: string, value: string, modRevision: number, opts?: WriteOptions): Promise<WriteResult>;
  /** Delete (only if modRevision matches, when given). ok:false with no kv means the key did not exist. */
  delete(key: string, modRevision?: number, opts?: WriteOptions): Promise<WriteResult>;
  /**
   * Changes under `prefix` after `afterRevision`, in revision order, as batches. History first, then live.
   * The iterator ends when `signal` aborts. Throws CompactedError if afterRevision < compact revision.
   */
  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent[]>;
  /** Forget history up to and including `revision` (current values stay). */
  compact(revision: number): Promise<void>;
  /** Current store revision. */
  currentRevision(): Promise<number>;
  stats(): Promise<BackendStats>;
  close(): Promise<void>;
}

/** Timing hook so the server can export store latency without each backend depending on prom-client. */
export interface BackendObserver {
  /** `op`: get|list|create|update|delete|compact; `commit` is the durable commit of a batch (sqlite group commit). */
  observe(op: string, seconds: number, ok: boolean): void;
}
