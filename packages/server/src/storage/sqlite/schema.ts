/**
 * Opening a sqlite store: pragmas, tables, and the state recovered from disk.
 *
 * Layout (kine-like, but with a separate current-state table so reads never scan the log):
 *  - kv:   current value of every live key (range scans for list use its primary key index).
 *  - log:  append-only change history for watch; one row per revision. `prev_value` is kept on
 *          updates so a replayed event still has prevKv after the previous revision was compacted.
 *  - meta: schema version and compact revision.
 */
import Database from "better-sqlite3";

/** Schema version written to meta; bump and migrate when the layout changes. */
export const SCHEMA_VERSION = 1;

const DDL = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY NOT NULL,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  mod_revision INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log (
  revision INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  prev_value TEXT,
  deleted INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ${SCHEMA_VERSION}), ('compact_revision', 0);
`;

/** The open database and the counters recovered from it. */
export interface OpenedStore {
  db: Database.Database;
  revision: number;
  compactRevision: number;
  keys: number;
}

/** The path that opens a private, non-durable database (memory://): the same SQL, without file or fsync. */
export const IN_MEMORY = ":memory:";

/** Open (creating if needed) the store at `path`, configured for durable single-process use. */
export function openStore(path: string, busyTimeoutMs = 2000): OpenedStore {
  // The timeout matters at open: a restarting server may briefly overlap with the exiting one.
  const db = new Database(path, { timeout: busyTimeoutMs });
  try {
    // EXCLUSIVE before WAL: no shared-memory index, and the file stays locked by this process. The
    // revision counter and watch fan-out assume a single writer, so a second server on the same file
    // must fail (SQLITE_BUSY below) instead of silently interleaving revisions.
    db.pragma("locking_mode = EXCLUSIVE");
    if (path !== IN_MEMORY) configureDurable(db, path);
    // The schema write takes (and, in EXCLUSIVE mode, keeps) the write lock right at open.
    db.transaction(() => db.exec(DDL)).immediate();
    const meta = (name: string): number =>
      db.prepare<[string], { value: number }>("SELECT value FROM meta WHERE name = ?").get(name)?.value ?? 0;
    const version = meta("schema_version");
    if (version !== SCHEMA_VERSION) throw new Error(`sqlite: ${path} has schema version ${version}, want ${SCHEMA_VERSION}`);
    const compactRevision = meta("compact_revision");
    const lastLogged = db.prepare<[], { r: number | null }>("SELECT MAX(revision) AS r FROM log").get()?.r ?? 0;
    // The log may be compacted empty; the revision never goes below the compact revision.
    const revision = Math.max(lastLogged, compactRevision);
    const keys = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM kv").get()?.n ?? 0;
    return { db, revision, compactRevision, keys };
  } catch (err) {
    db.close();
    throw err;
  }
}

/** WAL with an fsync at every COMMIT: what makes an acknowledged write survive power loss. */
function configureDurable(db: Database.Database, path: string): void {
  const mode = db.pragma("journal_mode = WAL", { simple: true });
  if (String(mode).toLowerCase() !== "wal") throw new Error(`sqlite: cannot enable WAL on ${path} (got ${mode})`);
  db.pragma("synchronous = FULL");
  // Keep the WAL from staying huge after a burst (it is truncated to this size after checkpoints).
  db.pragma("journal_size_limit = 67108864");
}
