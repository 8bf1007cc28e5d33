/** `kumo patch KIND NAME --type merge|json -p PATCH [--force]`: applied atomically by the server to the latest object. */
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { CliContext } from "../context.js";
import { ownershipConflict, UserError } from "../errors.js";
import { kindRef, splitKindName } from "../kinds.js";

interface PatchOptions {
  type: string;
  patch: string;
  force?: boolean;
  fieldManager: string;
  subresource?: string;
}

/** Registers `patch`. */
export function register(program: Command): void {
  program
    .command("patch")
    .description("change fields of an object with a JSON merge patch or a JSON patch")
    .argument("<kind>", "kind (hosts, host, hst) or KIND/NAME")
    .argument("[name]", "object name")
    .requiredOption("-p, --patch <patch>", "the patch, as JSON (or YAML)")
    .option("--type <type>", "merge | json", "merge")
    .option("--force", "remove map keys owned by another field manager instead of failing with a conflict")
    .option("--field-manager <name>", "field manager recorded for this write", "kumo-patch")
    .option("--subresource <name>", "patch a subresource (status)")
    .action(async (kindArg: string, nameArg: string | undefined, o: PatchOptions, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      if (o.type !== "merge" && o.type !== "json") throw new UserError(`--type must be merge or json, not "${o.type}"`);
      if (o.subresource !== undefined && o.subresource !== "status")
        throw new UserError(`--subresource must be status, not "${o.subresource}"`);
      const { kind, names } = splitKindName(kindArg, nameArg ? [nameArg] : []);
      if (names.length !== 1) throw new UserError(`patch needs exactly one name: kumo patch ${kind} NAME -p PATCH`);
      let body: unknown;
      try {
        body = parseYaml(o.patch);
      } catch (e) {
        throw new UserError(`the patch is not valid JSON: ${(e as Error).message.split("\n")[0].replace(/:$/, "")}`);
      }
      if (o.type === "json" && !Array.isArray(body))
        throw new UserError('a JSON patch (--type json) must be a list of operations: [{"op":"replace","path":"/spec/x","value":1}]');
      if (o.type === "merge" && (typeof body !== "object" || body === null || Array.isArray(body)))
        throw new UserError("a merge patch (--type merge) must be a JSON object");
      const r = await ctx.kinds.byName(kind);
      const ns = ctx.namespaceFor(r);
      const name = names[0];
      const before = await ctx.client.get(r, ns, name);
      try {
        const after = await ctx.client.patch(r, ns, name, o.type, body, {
          fieldManager: o.fieldManager,
          force: o.force,
          subresource: o.subresource,
        });
        const same = before.metadata.resourceVersion === after.metadata.resourceVersion;
        process.stdout.write(`${kindRef(r)}/${name} ${same ? "patched (no change)" : "patched"}\n`);
      } catch (e) {
        const refused = o.force ? undefined : ownershipConflict(e, "re-run with --force to remove them anyway");
        throw refused ?? e;
      }
    });
}
