/**
 * Applying one group of queued writes inside a single transaction.
 *
 * Each CAS check reads the kv table inside the transaction, in arrival order, so it sees the effect of
 * the writes queued before it in the same group — exactly as if they had committed one by one.
 * Nothing here touches backend state: the caller adopts the outcome only after COMMIT succeeded.
 */
import type { KeyValue, WatchEvent, WriteResult } from "../backend.js";
import type { Statements } from "./statements.js";

/** One queued write. `modRevision` is the CAS condition (required for update, optional for delete). */
export type WriteOp = (
  | { kind: "create"; key: string; value: string }
  | { kind: "update"; key: string; value: string; modRevision: number }
  | { kind: "delete"; key: string; modRevision?: number }
) & { attach?: (revision: number) => { key: string; value: string } };

/** What a committed group changes. */
export interface BatchOutcome {
  /** One result per op, in op order. */
  results: WriteResult[];
  /** Events in revision order, for the watch hub. */
  events: WatchEvent[];
  /** Store revision after the group. */
  revision: number;
  /** Net change in the number of live keys. */
  keysDelta: number;
}

/** Apply `ops` on top of revision `rev`; call inside a transaction. */
export function applyBatch(s: Statements, ops: readonly WriteOp[], rev: number): BatchOutcome {
  const results: WriteResult[] = [];
  const events: WatchEvent[] = [];
  let keysDelta = 0;
  for (const op of ops) {
    const cur = s.get.get(op.key);
    if (op.kind === "create") {
      if (cur) {
        results.push(refused(rev, cur));
        continue;
      }
      rev++;
      const kv = insertNew(s, op.key, op.value, rev);
      keysDelta++;
      events.push({ type: "PUT", kv });
      results.push({ ok: true, revision: rev, kv: { ...kv } });
    } else if (op.kind === "update") {
      if (!cur || cur.modRevision !== op.modRevision) {
        results.push(refused(rev, cur));
        continue;
      }
      rev++;
      const kv: KeyValue = { key: op.key, value: op.value, createRevision: cur.createRevision, modRevision: rev };
      s.updateKv.run(op.value, rev, op.key);
      s.insertLog.run(rev, op.key, op.value, cur.createRevision, cur.modRevision, cur.value, 0);
      events.push({ type: "PUT", kv, prevKv: cur });
      results.push({ ok: true, revision: rev, kv: { ...kv } });
    } else {
      if (!cur || (op.modRevision !== undefined && cur.modRevision !== op.modRevision)) {
        results.push(refused(rev, cur));
        continue;
      }
      rev++;
      // The DELETE event (and the log row) carry the deleted value, stamped with the delete's revision.
      const kv: KeyValue = { ...cur, modRevision: rev };
      s.deleteKv.run(op.key);
      s.insertLog.run(rev, op.key, cur.value, cur.createRevision, cur.modRevision, null, 1);
      keysDelta--;
      events.push({ type: "DELETE", kv, prevKv: cur });
      results.push({ ok: true, revision: rev, kv: { ...kv } });
    }
    if (op.attach && results[results.length - 1].ok) {
      const extra = op.attach(rev);
      if (s.get.get(extra.key)) continue; // already recorded (a retried write): the attachment is a create
      rev++;
      keysDelta++;
      events.push({ type: "PUT", kv: insertNew(s, extra.key, extra.value, rev) });
    }
  }
  return { results, events, revision: rev, keysDelta };
}

/** Writes a new key at `rev` (kv row + log row). */
function insertNew(s: Statements, key: string, value: string, rev: number): KeyValue {
  s.insertKv.run(key, value, rev, rev);
  s.insertLog.run(rev, key, value, rev, 0, null, 0);
  return { key, value, createRevision: rev, modRevision: rev };
}

function refused(rev: number, cur: KeyValue | undefined): WriteResult {
  return { ok: false, revision: rev, kv: cur && { ...cur } };
}
