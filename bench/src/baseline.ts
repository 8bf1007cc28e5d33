/**
 * The disk's durability floor: raw better-sqlite3 single-row INSERT transactions with WAL and
 * synchronous=FULL (one fdatasync per commit), the same settings kumo's sqlite store commits with.
 */
import Database from "better-sqlite3";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type Summary, summarize } from "./stats.js";

/** Result of the baseline run. */
export interface Baseline {
  commits: Summary;
  perSecond: number;
}

/** Runs `n` serial single-row transactions (after a short warm-up) in a fresh db under `dir`. */
export function sqliteBaseline(dir: string, n: number): Baseline {
  const db = new Database(join(dir, "baseline.db"));
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = FULL");
    db.exec("CREATE TABLE kv (id INTEGER PRIMARY KEY, key TEXT NOT NULL, value TEXT NOT NULL)");
    const insert = db.prepare("INSERT INTO kv (key, value) VALUES (?, ?)");
    const commit = db.transaction((k: string, v: string) => insert.run(k, v));
    // A value about the size of a stored Host (~600 bytes).
    const value = JSON.stringify({
      apiVersion: "infra.kumo.dev/v1",
      kind: "Host",
      metadata: { name: "x", uid: crypto.randomUUID() },
      spec: { capacity: { cpu: 4000, memoryMiB: 8192 } },
      pad: "p".repeat(400),
    });
    for (let i = 0; i < 50; i++) commit(`/warmup/${i}`, value);
    const lat: number[] = [];
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      commit(`/baseline/${i}`, value);
      lat.push(performance.now() - t);
    }
    const secs = (performance.now() - start) / 1000;
    return { commits: summarize(lat), perSecond: n / secs };
  } finally {
    db.close();
  }
}
