/** `kumo watch KIND [NAME]`: the current rows, then one row per change as it happens (until Ctrl-C). */
import type { Command } from "commander";
import type { Table } from "@kumo/client";
import { CliContext } from "../context.js";
import { splitKindName } from "../kinds.js";
import { StreamingColumns } from "../print/columns.js";
import { headerCells, rowCells } from "../print/table.js";

/** Registers `watch`. */
export function register(program: Command): void {
  program
    .command("watch")
    .description("stream rows of a kind (or one object) as they change")
    .argument("<kind>", "kind (hosts, host, hst) or KIND/NAME")
    .argument("[name]", "object name")
    .option("-A, --all-namespaces", "watch across all projects")
    .option("-l, --selector <selector>", "label selector")
    .option("-o, --output <format>", "wide for all columns")
    .action(
      async (
        kindArg: string,
        nameArg: string | undefined,
        o: { allNamespaces?: boolean; selector?: string; output?: string },
        cmd: Command,
      ) => {
        const ctx = CliContext.from(cmd);
        const { kind, names } = splitKindName(kindArg, nameArg ? [nameArg] : []);
        const r = await ctx.kinds.byName(kind);
        const ns = o.allNamespaces ? undefined : ctx.namespaceFor(r);
        const fieldSelector = names[0] ? `metadata.name=${names[0]}` : undefined;
        const print = { wide: o.output === "wide", withNamespace: r.namespaced && !ns };
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        try {
          const initial = await ctx.client.table(r, ns, { labelSelector: o.selector, fieldSelector });
          // Watch events carry one-row Tables, possibly without column definitions: keep the first ones.
          const columns: Table = initial;
          const cols = new StreamingColumns();
          const header = ["EVENT", ...headerCells(columns, print)];
          const initialRows = initial.rows.map((row) => ["ADDED", ...rowCells(columns, row, print)]);
          cols.fit([header, ["MODIFIED"], ...initialRows]);
          const out = [cols.line(header), ...initialRows.map((c) => cols.line(c))];
          process.stdout.write(out.join("\n") + "\n");
          const events = ctx.client.watch<Table>(r, ns, {
            resourceVersion: initial.metadata.resourceVersion,
            labelSelector: o.selector,
            fieldSelector,
            asTable: true,
            signal: ac.signal,
          });
          for await (const ev of events) {
            if (ev.type === "BOOKMARK") continue;
            for (const row of ev.object.rows ?? []) process.stdout.write(cols.line([ev.type, ...rowCells(columns, row, print)]) + "\n");
          }
          if (!ac.signal.aborted) process.stderr.write("watch ended by the server\n");
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
      },
    );
}
