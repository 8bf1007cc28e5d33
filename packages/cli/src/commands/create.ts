/** `kumo create -f FILE`: POST each object; fails for objects that already exist. */
import type { Command } from "commander";
import { CliContext } from "../context.js";
import { kindRef } from "../kinds.js";
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
    .action(async (o: { filename: string[]; fieldManager: string; dryRun?: boolean }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      await forEachManifest(ctx, readManifests(o.filename), async ({ r, obj }) => {
        const created = await ctx.client.create(r, obj, { fieldManager: o.fieldManager, dryRun: o.dryRun });
        return `${kindRef(r)}/${created.metadata.name} created${o.dryRun ? " (server dry run)" : ""}`;
      });
    });
}
