/**
 * Per-object write history: who (user, field manager) changed which fields, when, at which revision.
 * `kumo history KIND/NAME` and `kumo doctor` read it to name the writer that removed an annotation.
 * Stored beside the objects (one key per write) and trimmed to the newest `maxPerObject` entries.
 */
import type { KindDefinition, KObject } from "@kumo/api";
import type { Backend } from "../storage/backend.js";
import { historyKey, historyPrefix } from "./codec.js";
import { type FieldChange, formatPath } from "./field-paths.js";
import type { OwnershipConflict } from "./managed-fields.js";
import type { WriteContext } from "./store.js";

/** One recorded write, as served by the `/history` subresource. */
export interface HistoryEntry {
  revision: string;
  time: string;
  manager: string;
  user: string;
  operation: string;
  subresource?: string;
  force: boolean;
  /** Managers that lost fields because of `force`. */
  overridden?: { manager: string; paths: string[] }[];
  changes: { path: string; op: "set" | "remove"; value?: unknown; previous?: unknown }[];
}

/** Writes history entries; `record` is called by the object store after each successful write. */
export class HistoryRecorder {
  private writesSinceTrim = new Map<string, number>();
  /** Unfinished history writes per object prefix. */
  private readonly pending = new Map<string, Promise<void>>();
  failedTotal = 0;

  /** Waits for every history write issued so far (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending.values()]);
  }

  constructor(private readonly backend: Backend, private readonly maxPerObject = 200) {}

  /** Records one write. Large values are truncated: history says who changed what, not a full backup. */
  async record(kind: KindDefinition, obj: KObject, w: { ctx: WriteContext; operation: string; changes: FieldChange[]; overridden: OwnershipConflict[]; revision: number }): Promise<void> {
    if (kind.kind === "Event") return; // events are themselves a history; recording them would double every write
    const entry: HistoryEntry = {
      revision: String(w.revision),
      time: new Date().toISOString(),
      manager: w.ctx.manager,
      user: w.ctx.user,
      operation: w.operation,
      force: !!w.ctx.force,
      changes: w.changes.map((c) => ({ path: formatPath(c.path), op: c.op, ...(c.op === "set" ? { value: clip(c.value) } : {}), ...(c.previous !== undefined ? { previous: clip(c.previous) } : {}) })),
    };
    if (w.ctx.subresource) entry.subresource = w.ctx.subresource;
    if (w.overridden.length) entry.overridden = w.overridden.map((o) => ({ manager: o.manager, paths: o.paths.map(formatPath) }));
    const ns = obj.metadata.namespace;
    const name = obj.metadata.name!;
    const p = historyPrefix(kind, ns, name);
    // Not awaited by the writer: the entry joins the next group commit instead of doubling every write's
    // latency. Reads of this object's history wait for it (read-your-writes in this server); a crash can
    // lose the entries of the last few milliseconds, never an object write.
    const done = this.backend.create(historyKey(kind, ns, name, w.revision), JSON.stringify(entry)).then(() => undefined, () => { this.failedTotal++; });
    const prev = this.pending.get(p);
    const chained = prev ? Promise.all([prev, done]).then(() => undefined) : done;
    this.pending.set(p, chained);
    void chained.then(() => { if (this.pending.get(p) === chained) this.pending.delete(p); });
    const n = (this.writesSinceTrim.get(p) ?? 0) + 1;
    if (n >= this.maxPerObject / 4) {
      this.writesSinceTrim.delete(p);
      void this.trim(p).catch(() => undefined);
    } else this.writesSinceTrim.set(p, n);
  }

  /** History of one object, oldest first. Survives the object's deletion. */
  async read(kind: KindDefinition, namespace: string | undefined, name: string): Promise<HistoryEntry[]> {
    await this.pending.get(historyPrefix(kind, namespace, name));
    const res = await this.backend.list(historyPrefix(kind, namespace, name));
    return res.kvs.map((kv) => JSON.parse(kv.value) as HistoryEntry);
  }

  private async trim(prefix: string): Promise<void> {
    const res = await this.backend.list(prefix);
    const excess = res.kvs.length - this.maxPerObject;
    for (let i = 0; i < excess; i++) await this.backend.delete(res.kvs[i].key);
  }
}

function clip(v: unknown): unknown {
  const s = JSON.stringify(v);
  return s !== undefined && s.length > 512 ? `${s.slice(0, 509)}...` : v;
}
