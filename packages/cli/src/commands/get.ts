/** `kumo get KIND [NAME...]`: a Table from the server (columns defined once, in the kind), or whole objects. */
import type { Command } from "commander";
import type { KObject } from "@kumo/api";
import type { Table } from "@kumo/client";
import { CliContext } from "../context.js";
import { splitKindName, type Resource } from "../kinds.js";
import { forDisplay, formatName, formatObjects, parseOutput } from "../print/objects.js";
import { formatTable } from "../print/table.js";

/** Options of get. */
interface GetOptions {
  output?: string;
  allNamespaces?: boolean;
  selector?: string;
  fieldSelector?: string;
  showManagedFields?: boolean;
  /** false with --no-headers */
  headers?: boolean;
}

/** Registers `get`. */
export function register(program: Command): void {
  program
    .command("get")
    .description("list objects of a kind, or show some by name")
    .argument("<kind>", "kind: plural, singular, short name (hosts, host, hst) or KIND/NAME")
    .argument("[names...]", "object names")
    .option("-o, --output <format>", "yaml | json | wide | name")
    .option("-A, --all-namespaces", "list across all projects")
    .option("-l, --selector <selector>", "label selector (a=b,c!=d,e in (x,y))")
    .option("--field-selector <selector>", "field selector (metadata.name=x)")
    .option("--show-managed-fields", "keep metadata.managedFields in yaml/json output")
    .option("--no-headers", "omit the header row")
    .action(async (kindArg: string, nameArgs: string[], o: GetOptions, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const format = parseOutput(o.output);
      const { kind, names } = splitKindName(kindArg, nameArgs);
      const r = await ctx.kinds.byName(kind);
      const ns = o.allNamespaces ? undefined : ctx.namespaceFor(r);
      if (format === "table" || format === "wide") {
        const t = await fetchTable(ctx, r, ns, names, o);
        if (t.rows.length === 0) {
          process.stderr.write(r.namespaced && ns ? `No resources found in ${ns} namespace.\n` : "No resources found\n");
          return;
        }
        const lines = formatTable(t, { wide: format === "wide", withNamespace: r.namespaced && !ns, noHeaders: o.headers === false });
        process.stdout.write(lines.join("\n") + "\n");
        return;
      }
      const objs = names.length
        ? await Promise.all(names.map((n) => ctx.client.get(r, ns, n)))
        : (await ctx.client.listAll(r, ns, { labelSelector: o.selector, fieldSelector: o.fieldSelector, limit: 500 })).items.map((x) =>
            withType(r, x),
          );
      if (format === "name") {
        process.stdout.write(objs.map((x) => formatName(r, x) + "\n").join(""));
        return;
      }
      if (objs.length === 0 && !names.length) process.stderr.write("No resources found\n");
      process.stdout.write(
        formatObjects(
          objs.map((x) => forDisplay(x, o.showManagedFields)),
          format,
          names.length === 1,
        ),
      );
    });
}

/** Lists come without kind/apiVersion per item (as in Kubernetes); output is clearer with them. */
function withType(r: Resource, o: KObject): KObject {
  return { ...o, apiVersion: o.apiVersion || (r.group ? `${r.group}/${r.version}` : r.version), kind: o.kind || r.kind };
}

/** One Table for a list (following `continue`) or for named objects (their rows concatenated). */
async function fetchTable(ctx: CliContext, r: Resource, ns: string | undefined, names: string[], o: GetOptions): Promise<Table> {
  if (names.length) {
    const tables = await Promise.all(names.map((name) => ctx.client.table(r, ns, { name })));
    return { ...tables[0], rows: tables.flatMap((t) => t.rows) };
  }
  const first = await ctx.client.table(r, ns, { labelSelector: o.selector, fieldSelector: o.fieldSelector, limit: 500 });
  let cont = first.metadata.continue;
  while (cont) {
    const page = await ctx.client.table(r, ns, { labelSelector: o.selector, fieldSelector: o.fieldSelector, limit: 500, continue: cont });
    first.rows.push(...page.rows);
    cont = page.metadata.continue;
  }
  return first;
}
