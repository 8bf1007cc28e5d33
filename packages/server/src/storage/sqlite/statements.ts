/** Prepared statements of the sqlite backend (prepared once per connection) and row mapping. */
import type Database from "better-sqlite3";
import type { KeyValue, WatchEvent } from "../backend.js";

/** A log row as selected (column aliases match the field names). */
export interface LogRow {
  revision: number;
  key: string;
  value: string;
  createRevision: number;
  prevRevision: number;
  prevValue: string | null;
  deleted: number;
}

const KV_COLS = "key, value, create_revision AS createRevision, mod_revision AS modRevision";
const LOG_COLS = "revision, key, value, create_revision AS createRevision, prev_revision AS prevRevision, prev_value AS prevValue, deleted";
const HISTORY = `SELECT ${LOG_COLS} FROM log WHERE revision > ? AND revision <= ?`;

type Stmt<P extends unknown[], R = unknown> = Database.Statement<P, R>;

/** The statements of one connection. */
export interface Statements {
  get: Stmt<[string], KeyValue>;
  listRange: Stmt<[string, string, number], KeyValue>;
  listFrom: Stmt<[string, number], KeyValue>;
  insertKv: Stmt<[string, string, number, number]>;
  updateKv: Stmt<[string, number, string]>;
  deleteKv: Stmt<[string]>;
  insertLog: Stmt<[number, string, string, number, number, string | null, number]>;
  historyRange: Stmt<[number, number, string, string, number], LogRow>;
  historyFrom: Stmt<[number, number, string, number], LogRow>;
  minLogRevision: Stmt<[], { r: number | null }>;
  deleteLogRange: Stmt<[number, number]>;
  setMeta: Stmt<[number, string]>;
  pageCount: Stmt<[], { n: number }>;
}

/** Build all statements for `db`. */
export function prepareStatements(db: Database.Database): Statements {
  return {
    get: db.prepare<[string], KeyValue>(`SELECT ${KV_COLS} FROM kv WHERE key = ?`),
    /** [lower, upper, limit]: keys in [lower, upper); limit -1 means all. */
    listRange: db.prepare<[string, string, number], KeyValue>(`SELECT ${KV_COLS} FROM kv WHERE key >= ? AND key < ? ORDER BY key LIMIT ?`),
    /** [lower, limit]: for prefixes without an upper bound (the empty prefix). */
    listFrom: db.prepare<[string, number], KeyValue>(`SELECT ${KV_COLS} FROM kv WHERE key >= ? ORDER BY key LIMIT ?`),
    insertKv: db.prepare<[string, string, number, number]>(
      "INSERT INTO kv (key, value, create_revision, mod_revision) VALUES (?, ?, ?, ?)",
    ),
    updateKv: db.prepare<[string, number, string]>("UPDATE kv SET value = ?, mod_revision = ? WHERE key = ?"),
    deleteKv: db.prepare<[string]>("DELETE FROM kv WHERE key = ?"),
    /** [revision, key, value, create_revision, prev_revision, prev_value, deleted] */
    insertLog: db.prepare<[number, string, string, number, number, string | null, number]>(
      "INSERT INTO log (revision, key, value, create_revision, prev_revision, prev_value, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)",
    ),
    /** [after, upTo, lower, upper, limit] */
    historyRange: db.prepare<[number, number, string, string, number], LogRow>(
      `${HISTORY} AND key >= ? AND key < ? ORDER BY revision LIMIT ?`,
    ),
    /** [after, upTo, lower, limit] */
    historyFrom: db.prepare<[number, number, string, number], LogRow>(`${HISTORY} AND key >= ? ORDER BY revision LIMIT ?`),
    minLogRevision: db.prepare<[], { r: number | null }>("SELECT MIN(revision) AS r FROM log"),
    /** [from, to] inclusive */
    deleteLogRange: db.prepare<[number, number]>("DELETE FROM log WHERE revision >= ? AND revision <= ?"),
    setMeta: db.prepare<[number, string]>("UPDATE meta SET value = ? WHERE name = ?"),
    pageCount: db.prepare<[], { n: number }>("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()"),
  };
}

/** Rebuild the watch event a log row records; must match the live events built in write-batch.ts. */
export function logRowToEvent(r: LogRow): WatchEvent {
  const kv: KeyValue = { key: r.key, value: r.value, createRevision: r.createRevision, modRevision: r.revision };
  const prev = (value: string): KeyValue => ({
    key: r.key,
    value,
    createRevision: r.createRevision,
    modRevision: r.prevRevision,
  });
  if (r.deleted) return { type: "DELETE", kv, prevKv: prev(r.value) };
  if (r.prevRevision === 0) return { type: "PUT", kv };
  return { type: "PUT", kv, prevKv: prev(r.prevValue ?? "") };
}
