/** `kumo apply -f FILE`: server-side apply as field manager `kumo-cli` (creates or updates; the server merges). */
import type { Command } from "commander";
import { isNotFound } from "@kumo/api";
import { CliContext } from "../context.js";
import { ownershipConflict, UserError } from "../errors.js";
import { kindRef } from "../kinds.js";
import { forEachManifest } from "../manifest-targets.js";
import { readManifests } from "../manifests.js";
import { collect } from "./create.js";

/** Registers `apply`. */
export function register(program: Command): void {
  program
    .command("apply")
    .description("create or update objects from files with server-side apply (field manager kumo-cli)")
    .requiredOption("-f, --filename <file>", "file, directory or - (repeatable)", collect)
    .option("--force-conflicts", "take ownership of fields another manager owns")
    .option("--field-manager <name>", "field manager to apply as", "kumo-cli")
    .option("--dry-run", "validate on the server without persisting")
    .action(async (o: { filename: string[]; forceConflicts?: boolean; fieldManager: string; dryRun?: boolean }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      await forEachManifest(ctx, readManifests(o.filename), async ({ r, obj, ns }) => {
        const name = obj.metadata.name;
        if (!name) throw new UserError(`apply needs metadata.name (${kindRef(r)} without a name)`);
        // The previous version tells "created" from "configured" from "unchanged".
        const before = await ctx.client.get(r, ns, name).catch((e: unknown) => {
          if (isNotFound(e)) return undefined;
          throw e;
        });
        try {
          const after = await ctx.client.apply(r, obj, { fieldManager: o.fieldManager, force: o.forceConflicts, dryRun: o.dryRun });
          const what = !before
            ? "created"
            : before.metadata.resourceVersion === after.metadata.resourceVersion
              ? "unchanged"
              : "configured";
          return `${kindRef(r)}/${name} ${what}${o.dryRun ? " (server dry run)" : ""}`;
        } catch (e) {
          const hint = "re-run with --force-conflicts to take ownership of these fields";
          const refused = o.forceConflicts ? undefined : ownershipConflict(e, hint);
          throw refused ?? e;
        }
      });
    });
}
