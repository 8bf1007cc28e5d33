/**
 * sqlite:// — the default, durable backend (better-sqlite3, synchronous API).
 *
 * Writes go through group commit (group-commit.ts): one transaction and one fsync per group.
 * Reads go straight to SQLite on the same connection; since transactions run synchronously on the
 * event loop, a read always sees exactly the committed state. Watch events are fanned out in-process
 * after each COMMIT; history comes from the log table.
 *
 * memory:// is this backend on SQLite's `:memory:` (kine's choice): the compare-and-swap, revision and
 * watch rules exist once, and tests run the same code as production minus the file and the fsync.
 */
import { statSync } from "node:fs";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import type Database from "better-sqlite3";
import type {
  Backend,
  BackendObserver,
  BackendStats,
  KeyValue,
  ListOptions,
  ListResult,
  WatchEvent,
  WatchOptions,
  WriteResult,
  WriteOptions,
} from "../backend.js";
import { compareKeys, maxKey, prefixEnd } from "../key-order.js";
import { timed } from "../observe.js";
import { checkKey, checkRevision, checkValue } from "../validate.js";
import { BackendClosedError, WatchHub } from "../watch-hub.js";
import { watchStream, type HistorySource } from "../watch-stream.js";
import { GroupCommit } from "./group-commit.js";
import { IN_MEMORY, openStore } from "./schema.js";
import { logRowToEvent, prepareStatements, type Statements } from "./statements.js";
import { applyBatch, type WriteOp } from "./write-batch.js";

/** Log revisions deleted per compaction transaction, so compaction never stalls the loop for long. */
const COMPACT_CHUNK = 10_000;

/** Options of the sqlite backend. */
export interface SqliteBackendOptions {
  observer?: BackendObserver;
  /** Most writes per group-commit transaction (default 1000). */
  maxBatch?: number;
  /** Per-watcher buffer bound in events (default DEFAULT_WATCH_BUFFER). */
  watchBufferLimit?: number;
  /** How long to wait for a lock held by another process (default 2000 ms). */
  busyTimeoutMs?: number;
}

/** Durable Backend on a single SQLite file (WAL, synchronous=FULL, group commit), or on `:memory:`. */
export class SqliteBackend implements Backend {
  readonly kind: string;
  private readonly db: Database.Database;
  private readonly s: Statements;
  private readonly writes: GroupCommit;
  private readonly hub: WatchHub;
  private readonly source: HistorySource;
  private readonly observer: BackendObserver | undefined;
  private rev: number;
  private compacted: number;
  private keys: number;
  private closed = false;
  /** Compactions run one after another. */
  private compaction: Promise<unknown> = Promise.resolve();

  /** Open (or create) the database file at `path` (or IN_MEMORY). Throws if another process holds it. */
  constructor(
    readonly path: string,
    opts: SqliteBackendOptions = {},
  ) {
    const memory = path === IN_MEMORY;
    this.kind = memory ? "memory" : "sqlite";
    const store = openStore(path, opts.busyTimeoutMs);
    this.db = store.db;
    this.rev = store.revision;
    this.compacted = store.compactRevision;
    this.keys = store.keys;
    this.s = prepareStatements(this.db);
    this.observer = opts.observer;
    this.hub = new WatchHub(opts.watchBufferLimit);
    const commitGroup = this.db.transaction((ops: WriteOp[]) => applyBatch(this.s, ops, this.rev));
    this.writes = new GroupCommit(
      (ops) => {
        // .immediate() takes the write lock at BEGIN; the transaction function COMMITs before returning.
        const out = commitGroup.immediate(ops);
        this.rev = out.revision;
        this.keys += out.keysDelta;
        this.hub.publish(out.events);
        return out.results;
      },
      memory ? 1 : opts.maxBatch,
      this.observer,
      !memory,
    );
    this.source = {
      revision: () => this.rev,
      compactRevision: () => this.compacted,
      history: (prefix, after, upTo, limit) => this.history(prefix, after, upTo, limit),
    };
  }

  get(key: string): Promise<KeyValue | undefined> {
    return timed(this.observer, "get", () => {
      this.checkOpen();
      return this.s.get.get(key);
    });
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return timed(this.observer, "list", () => {
      this.checkOpen();
      const lower = maxKey(prefix, opts.startKey ?? "");
      const upper = prefixEnd(prefix);
      const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
      if (upper !== undefined && compareKeys(lower, upper) >= 0) return { kvs: [], revision: this.rev, more: false };
      // One extra row tells whether there is more, without a COUNT.
      const sqlLimit = limit > 0 ? limit + 1 : -1;
      const kvs = upper === undefined ? this.s.listFrom.all(lower, sqlLimit) : this.s.listRange.all(lower, upper, sqlLimit);
      const more = limit > 0 && kvs.length > limit;
      if (more) kvs.length = limit;
      return { kvs, revision: this.rev, more };
    });
  }

  create(key: string, value: string, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write("create", () => {
      checkKey(key);
      checkValue(value);
      return { kind: "create", key, value, attach: opts.attach };
    });
  }

  update(key: string, value: string, modRevision: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write("update", () => {
      checkKey(key);
      checkValue(value);
      checkRevision(modRevision, "modRevision");
      return { kind: "update", key, value, modRevision, attach: opts.attach };
    });
  }

  delete(key: string, modRevision?: number, opts: WriteOptions = {}): Promise<WriteResult> {
    return this.write("delete", () => {
      checkKey(key);
      if (modRevision !== undefined) checkRevision(modRevision, "modRevision");
      return { kind: "delete", key, modRevision, attach: opts.attach };
    });
  }

  watch(prefix: string, opts: WatchOptions): AsyncIterable<WatchEvent[]> {
    return watchStream(this.hub, this.source, prefix, opts);
  }

  compact(revision: number): Promise<void> {
    const run = this.compaction.then(() => timed(this.observer, "compact", () => this.compactNow(revision)));
    this.compaction = run.catch(() => undefined);
    return run;
  }

  async currentRevision(): Promise<number> {
    this.checkOpen();
    return this.rev;
  }

  async stats(): Promise<BackendStats> {
    this.checkOpen();
    const dbBytes = this.s.pageCount.get()?.n ?? 0;
    return { dbSizeBytes: dbBytes + this.walBytes(), revision: this.rev, compactRevision: this.compacted, keys: this.keys };
  }

  private walBytes(): number {
    if (this.path === IN_MEMORY) return 0;
    try {
      return statSync(`${this.path}-wal`).size;
    } catch {
      return 0; // no WAL file (yet): nothing to add
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.writes.flush(); // queued writes still commit and settle
    this.closed = true;
    this.hub.endAll(new BackendClosedError());
    this.db.close();
  }

  /** Validate (errors reject this write only), then queue for the next group commit. */
  private write(kind: WriteOp["kind"], build: () => WriteOp): Promise<WriteResult> {
    let op: WriteOp;
    try {
      this.checkOpen();
      op = build();
    } catch (err) {
      return timed(this.observer, kind, () => Promise.reject(err));
    }
    return this.writes.submit(op);
  }

  private async compactNow(revision: number): Promise<void> {
    this.checkOpen();
    checkRevision(revision, "compact revision");
    if (revision > this.rev) throw new RangeError(`cannot compact future revision ${revision} (current ${this.rev})`);
    if (revision <= this.compacted) return;
    // Record first: from here on watchers below `revision` are refused, so deleting rows is safe.
    this.s.setMeta.run(revision, "compact_revision");
    this.compacted = revision;
    // Start at the oldest row left, not the previous compact revision: a crash mid-compaction may
    // have left rows below it.
    let from = this.s.minLogRevision.get()?.r ?? revision + 1;
    while (from <= revision) {
      const to = Math.min(revision, from + COMPACT_CHUNK - 1);
      this.s.deleteLogRange.run(from, to);
      from = to + 1;
      if (from <= revision) await yieldToLoop();
      if (this.closed) return;
    }
  }

  private history(prefix: string, after: number, upTo: number, limit: number): WatchEvent[] {
    const upper = prefixEnd(prefix);
    const rows =
      upper === undefined ? this.s.historyFrom.all(after, upTo, prefix, limit) : this.s.historyRange.all(after, upTo, prefix, upper, limit);
    return rows.map(logRowToEvent);
  }

  private checkOpen(): void {
    if (this.closed) throw new BackendClosedError();
  }
}
