/**
 * `kumo history` rendering: for each field, every write that set or removed it, in order, with the
 * field manager, the user, the time and whether it was forced. The question it answers: "who removed
 * this annotation, and when?"
 */
import type { WriteHistory, WriteRecord } from "@kumo/client";
import { alignColumns } from "./columns.js";
import { shortTime } from "./durations.js";

/** `metadata.annotations[a.b/c]` and `metadata.annotations.a.b/c` → one comparable form. */
export function normalizePath(p: string): string {
  return p.replace(/\[([^\]]*)\]/g, ".$1").replace(/^\./, "");
}

/** True when `path` is `filter` or below it. */
export function pathMatches(path: string, filter: string): boolean {
  const p = normalizePath(path);
  const f = normalizePath(filter).replace(/\.$/, "");
  return p === f || p.startsWith(f + ".");
}

/** The history as lines grouped by field; `field` limits it to one field (and what is below it). */
export function historyLines(h: WriteHistory, field?: string): string[] {
  const byField = new Map<string, { w: WriteRecord; action: string; value: string }[]>();
  const objectRows: { w: WriteRecord; action: string; value: string }[] = [];
  for (const w of h.items) {
    if (!w.changes.length && !field) objectRows.push({ w, action: w.operation.toLowerCase(), value: "" });
    for (const c of w.changes) {
      if (field && !pathMatches(c.path, field)) continue;
      const list = byField.get(c.path) ?? [];
      const value =
        c.op === "set" ? show(c.value) + (c.previous !== undefined ? `  (was ${show(c.previous)})` : "") : `(was ${show(c.previous)})`;
      list.push({ w, action: c.op === "set" ? "set" : "removed", value });
      byField.set(c.path, list);
    }
  }
  if (byField.size === 0 && objectRows.length === 0) return [field ? `no recorded writes touched ${field}` : "no recorded writes"];
  // One table; the field is named on its first row only, so each field's story reads top to bottom.
  const rows: string[][] = [["FIELD", "REVISION", "TIME", "ACTION", "MANAGER", "USER", "OPERATION", "VALUE"]];
  const section = (title: string, entries: { w: WriteRecord; action: string; value: string }[]) => {
    entries.forEach(({ w, action, value }, i) =>
      rows.push([i === 0 ? title : "", w.revision, shortTime(w.time), action, w.manager, w.user, operation(w), value]),
    );
  };
  if (objectRows.length) section("(object)", objectRows);
  for (const path of [...byField.keys()].sort()) section(path, byField.get(path) ?? []);
  return alignColumns(rows);
}

function operation(w: WriteRecord): string {
  return `${w.operation}${w.subresource ? `/${w.subresource}` : ""}${w.force ? " (force)" : ""}`;
}

/** A value in one short line. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? "null";
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
