/** `kumo describe KIND NAME`: the object for people, with its conditions as a timeline and recent Events. */
import type { Command } from "commander";
import { EventKind } from "@kumo/api";
import { CliContext } from "../context.js";
import { formatError } from "../errors.js";
import { splitKindName } from "../kinds.js";
import { describeLines, type EventLike } from "../print/describe.js";

/** Registers `describe`. */
export function register(program: Command): void {
  program
    .command("describe")
    .description("show one object in detail: conditions as a timeline and recent events")
    .argument("<kind>", "kind (hosts, host, hst) or KIND/NAME")
    .argument("[names...]", "object names")
    .action(async (kindArg: string, nameArgs: string[], _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const { kind, names } = splitKindName(kindArg, nameArgs);
      if (!names.length) throw new Error(`describe needs a name: kumo describe ${kind} NAME`);
      const r = await ctx.kinds.byName(kind);
      const ns = ctx.namespaceFor(r);
      const blocks: string[] = [];
      for (const name of names) {
        const obj = await ctx.client.get(r, ns, name);
        // Events of cluster-scoped objects are recorded in "default", as in Kubernetes.
        const eventsNs = obj.metadata.namespace ?? "default";
        let events: EventLike[] | string;
        try {
          events = (
            await ctx.client.list<EventLike>(EventKind, eventsNs, { fieldSelector: `involvedObject.uid=${obj.metadata.uid ?? ""}` })
          ).items;
        } catch (e) {
          events = formatError(e);
        }
        const typed = { ...obj, apiVersion: obj.apiVersion || (r.group ? `${r.group}/${r.version}` : r.version), kind: obj.kind || r.kind };
        blocks.push(describeLines({ obj: typed, events }).join("\n"));
      }
      process.stdout.write(blocks.join("\n\n\n") + "\n");
    });
}
