/** The table bench/instances prints: each figure beside its same-run baseline, PASS/MISS per target. */

/** One line of the table. */
export interface Row {
  what: string;
  kumo: string;
  baseline: string;
  /** kumo − baseline, when they are comparable. */
  delta: string;
  target: string;
  result: "PASS" | "MISS" | "";
}

/** Prints the table, then the notes (why something was not measured, errors seen). */
export function printReport(rows: Row[], notes: string[], title: string): void {
  const head: Row = { what: "measurement", kumo: "kumo", baseline: "baseline (same run)", delta: "overhead", target: "target", result: "" };
  const cols = ["what", "kumo", "baseline", "delta", "target"] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...rows].map((r) => r[c].length))])) as Record<
    (typeof cols)[number],
    number
  >;
  const line = (r: Row) => cols.map((c) => r[c].padEnd(width[c])).join("  ") + "  " + r.result;
  const out = ["", title, line(head), cols.map((c) => "-".repeat(width[c])).join("  ") + "  ------", ...rows.map(line)];
  if (notes.length) out.push("", ...notes.map((n) => `note: ${n}`));
  process.stdout.write(out.join("\n") + "\n\n");
}
