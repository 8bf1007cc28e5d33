/**
 * `kumo create -f FILE [-o yaml|json|name]`: POST each object; fails for objects that already exist.
 * `-o` prints what the server returned, e.g. a new Token's bearer secret (shown only in that answer).
 */
import type { Command } from "commander";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { kindRef } from "../kinds.js";
import { forDisplay, formatName, formatObjects } from "../print/objects.js";
import { forEachManifest } from "../manifest-targets.js";
import { readManifests } from "../manifests.js";

/** Collects repeated `-f` values. */
export function collect(v: string, prev: string[] = []): string[] {
  return [...prev, v];
}

/** Registers `create`. */
export function register(program: Command): void {
  program
    .command("create")
    .description("create objects from YAML or JSON files (-f - reads stdin)")
    .requiredOption("-f, --filename <file>", "file, directory or - (repeatable)", collect)
    .option("--field-manager <name>", "field manager recorded for this write", "kumo-create")
    .option("--dry-run", "validate on the server without persisting")
    .option("-o, --output <format>", "print the created objects: yaml | json | name")
    .action(async (o: { filename: string[]; fieldManager: string; dryRun?: boolean; output?: string }, cmd: Command) => {
      if (o.output !== undefined && !["yaml", "json", "name"].includes(o.output))
        throw new UserError(`unknown output format "${o.output}" for create: use yaml, json or name`);
      const ctx = CliContext.from(cmd);
      await forEachManifest(ctx, readManifests(o.filename), async ({ r, obj }) => {
        const created = await ctx.client.create(r, obj, { fieldManager: o.fieldManager, dryRun: o.dryRun });
        if (o.output === "yaml" || o.output === "json") return formatObjects([forDisplay(created)], o.output, true).trimEnd();
        if (o.output === "name") return formatName(r, created);
        return `${kindRef(r)}/${created.metadata.name} created${o.dryRun ? " (server dry run)" : ""}`;
      });
    });
}
