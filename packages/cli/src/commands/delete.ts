/** `kumo delete KIND NAME...` or `kumo delete -f FILE`. */
import type { Command } from "commander";
import { isNotFound, type KObject } from "@kumo/api";
import { sleep } from "@kumo/client";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { resourceRef, splitKindName, type Resource } from "../kinds.js";
import { forEachManifest } from "../manifest-targets.js";
import { readManifests } from "../manifests.js";
import { collect } from "./create.js";

interface DeleteOptions {
  filename?: string[];
  ignoreNotFound?: boolean;
  wait?: boolean;
  timeout: string;
}

/** Registers `delete`. */
export function register(program: Command): void {
  program
    .command("delete")
    .description("delete objects by name or from files")
    .argument("[kind]", "kind (hosts, host, hst) or KIND/NAME")
    .argument("[names...]", "object names")
    .option("-f, --filename <file>", "delete the objects in these files (repeatable)", collect)
    .option("--ignore-not-found", "treat a missing object as deleted")
    .option("--wait", "wait until the objects are gone (finalizers done)")
    .option("--timeout <seconds>", "how long --wait waits", "60")
    .action(async (kindArg: string | undefined, nameArgs: string[], o: DeleteOptions, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const one = async (r: Resource, ns: string | undefined, name: string) => {
        let res: KObject | { kind: string };
        try {
          res = await ctx.client.delete(r, ns, name);
        } catch (e) {
          if (o.ignoreNotFound && isNotFound(e)) return undefined;
          throw e;
        }
        const pending = (res as KObject).metadata?.deletionTimestamp && (res as KObject).metadata.finalizers?.length;
        if (o.wait) await waitGone(ctx, r, ns, name, Number(o.timeout) * 1000);
        const suffix = pending && !o.wait ? ` (waiting for finalizers: ${(res as KObject).metadata.finalizers?.join(", ")})` : "";
        return `${resourceRef(r)} "${name}" deleted${suffix}`;
      };
      if (o.filename?.length) {
        if (kindArg) throw new UserError("pass either -f FILE or KIND NAME, not both");
        await forEachManifest(ctx, readManifests(o.filename), ({ r, obj, ns }) => one(r, ns, obj.metadata.name ?? ""));
        return;
      }
      if (!kindArg) throw new UserError("delete needs KIND NAME or -f FILE");
      const { kind, names } = splitKindName(kindArg, nameArgs);
      if (!names.length) throw new UserError(`delete needs a name: kumo delete ${kind} NAME`);
      const r = await ctx.kinds.byName(kind);
      const ns = ctx.namespaceFor(r);
      for (const name of names) {
        const line = await one(r, ns, name);
        if (line) process.stdout.write(line + "\n");
      }
    });
}

/** Polls until the object is gone (deletion may wait for finalizers and garbage collection). */
async function waitGone(ctx: CliContext, r: Resource, ns: string | undefined, name: string, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await ctx.client.get(r, ns, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (Date.now() > end) throw new UserError(`timed out waiting for ${resourceRef(r)} "${name}" to be deleted`);
    await sleep(250);
  }
}
