/** `kumo history KIND/NAME [--field PATH]`: who set or removed each field, when, as which manager and user. */
import type { Command } from "commander";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { splitKindName } from "../kinds.js";
import { historyLines } from "../print/history.js";

/** Registers `history`. */
export function register(program: Command): void {
  program
    .command("history")
    .description("show who changed which field of an object, when, with which field manager")
    .argument("<kind>", "KIND/NAME (or KIND NAME)")
    .argument("[name]", "object name")
    .option("--field <path>", "only this field and below (metadata.annotations, spec.capacity.cpu, ...)")
    .option("-o, --output <format>", "json for the raw history")
    .action(async (kindArg: string, nameArg: string | undefined, o: { field?: string; output?: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const { kind, names } = splitKindName(kindArg, nameArg ? [nameArg] : []);
      if (names.length !== 1) throw new UserError(`history needs one object: kumo history ${kind}/NAME`);
      if (o.output !== undefined && o.output !== "json") throw new UserError(`--output must be json, not "${o.output}"`);
      const r = await ctx.kinds.byName(kind);
      const h = await ctx.client.history(r, ctx.namespaceFor(r), names[0]);
      if (o.output === "json") process.stdout.write(JSON.stringify(h, null, 2) + "\n");
      else process.stdout.write(historyLines(h, o.field).join("\n") + "\n");
    });
}
