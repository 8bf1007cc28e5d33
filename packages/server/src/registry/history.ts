/**
 * Per-object write history: who (user, field manager) changed which fields, when, at which revision.
 * `kumo history KIND/NAME` and `kumo doctor` read it to name the writer that removed an annotation.
 * Stored beside the objects (one key per write, in the same commit as the write) and trimmed to the
 * newest `maxPerObject` entries.
 */
import type { KindDefinition } from "@kumo/api";
import type { Backend, WriteOptions } from "../storage/backend.js";
import { historyKey, historyPrefix } from "./codec.js";
import { formatPath } from "./field-paths.js";
import type { WriteRecord, WriteRecorder } from "./write-record.js";

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

/** Writes history entries from the object store's write records (it is the store's WriteRecorder). */
export class HistoryRecorder implements WriteRecorder {
  private writesSinceTrim = new Map<string, number>();

  constructor(
    private readonly backend: Backend,
    private readonly maxPerObject = 200,
  ) {}

  /**
   * The history entry of one write, as a storage attachment: the backend writes it in the same atomic
   * commit as the object, keyed by the write's revision. Large values are truncated: history says who
   * changed what, not a full backup. Undefined for kinds without history.
   */
  attachment(w: WriteRecord): WriteOptions["attach"] {
    const { kind, obj } = w;
    if (kind.kind === "Event") return undefined; // events are themselves a history; recording them would double every write
    const ns = obj.metadata.namespace;
    const name = obj.metadata.name!;
    return (revision) => {
      const entry: HistoryEntry = {
        revision: String(revision),
        time: new Date().toISOString(),
        manager: w.ctx.manager,
        user: w.ctx.user,
        operation: w.operation,
        force: !!w.ctx.force,
        changes: w.changes.map((c) => ({
          path: formatPath(c.path),
          op: c.op,
          ...(c.op === "set" ? { value: clip(c.value) } : {}),
          ...(c.previous !== undefined ? { previous: clip(c.previous) } : {}),
        })),
      };
      if (w.ctx.subresource) entry.subresource = w.ctx.subresource;
      if (w.overridden.length) entry.overridden = w.overridden.map((o) => ({ manager: o.manager, paths: o.paths.map(formatPath) }));
      return { key: historyKey(kind, ns, name, revision), value: JSON.stringify(entry) };
    };
  }

  /** Called after a committed write: every maxPerObject/4 writes the object's oldest entries are trimmed. */
  written({ kind, obj }: WriteRecord): void {
    const p = historyPrefix(kind, obj.metadata.namespace, obj.metadata.name!);
    const n = (this.writesSinceTrim.get(p) ?? 0) + 1;
    if (n >= this.maxPerObject / 4) {
      this.writesSinceTrim.delete(p);
      void this.trim(p).catch(() => undefined);
    } else this.writesSinceTrim.set(p, n);
  }

  /** History of one object, oldest first. Survives the object's deletion. */
  async read(kind: KindDefinition, namespace: string | undefined, name: string): Promise<HistoryEntry[]> {
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
