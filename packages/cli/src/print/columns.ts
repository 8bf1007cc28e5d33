/** Aligned columns as kubectl prints them (tabwriter: left-aligned, three spaces between columns). */

/** Renders rows (the first is usually the header) as aligned lines; the last column is not padded. */
export function alignColumns(rows: string[][], gap = 3): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, width(c))));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c + " ".repeat(widths[i] - width(c) + gap)))
      .join("")
      .trimEnd(),
  );
}

/** Columns for rows that arrive one at a time (watch): widths only grow, so earlier lines stay valid. */
export class StreamingColumns {
  private widths: number[] = [];

  constructor(private readonly gap = 3) {}

  /** Widens the columns to fit `rows` without printing them (call with the first screenful). */
  fit(rows: string[][]): void {
    for (const r of rows) r.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, width(c))));
  }

  /** One aligned line. */
  line(cells: string[]): string {
    this.fit([cells]);
    return cells
      .map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(this.widths[i] - width(c) + this.gap)))
      .join("")
      .trimEnd();
  }
}

/** Display width: code points, so "雲" does not count as 3 bytes (wide glyphs are rare in object names). */
function width(s: string): number {
  return [...s].length;
}

/** A cell value as text: kubectl prints `<none>` for missing values. */
export function cellText(v: unknown): string {
  if (v === undefined || v === null || v === "") return "<none>";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
