/** Printing meta.k8s.io Tables: the server renders the cells; the CLI only chooses and aligns columns. */
import type { Table, TableRow } from "@kumo/client";
import { alignColumns, cellText } from "./columns.js";

/** How to print a Table. */
export interface TablePrintOptions {
  /** Include priority > 0 columns (`-o wide`). */
  wide?: boolean;
  /** Prepend a NAMESPACE column (`-A`), taken from each row's object metadata. */
  withNamespace?: boolean;
  noHeaders?: boolean;
}

/** Indexes of the columns to show. */
export function visibleColumns(t: Table, wide = false): number[] {
  return t.columnDefinitions.map((c, i) => ((c.priority ?? 0) === 0 || wide ? i : -1)).filter((i) => i >= 0);
}

/** Header cells (upper case, as kubectl). */
export function headerCells(t: Table, o: TablePrintOptions = {}): string[] {
  const cols = visibleColumns(t, o.wide).map((i) => t.columnDefinitions[i].name.toUpperCase());
  return o.withNamespace ? ["NAMESPACE", ...cols] : cols;
}

/** Cells of one row. */
export function rowCells(t: Table, row: TableRow, o: TablePrintOptions = {}): string[] {
  const cells = visibleColumns(t, o.wide).map((i) => cellText(row.cells[i]));
  return o.withNamespace ? [row.object?.metadata?.namespace ?? "", ...cells] : cells;
}

/** The whole table as aligned lines. */
export function formatTable(t: Table, o: TablePrintOptions = {}): string[] {
  const rows = t.rows.map((r) => rowCells(t, r, o));
  return alignColumns(o.noHeaders ? rows : [headerCells(t, o), ...rows]);
}
