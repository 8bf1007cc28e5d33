/**
 * `kumo logs INSTANCE [-f] [--tail-bytes N]`: a container's stdout/stderr or a VM's serial console, read
 * through the API only (`GET .../instances/NAME/log`: RBAC decides, the server asks the instance's host
 * agent), so it works from any machine with any identity allowed `get instances/log`. -f asks for
 * `follow=true`: the agent tails the file and the server streams it on, until Ctrl-C or the instance goes away.
 */
import { once } from "node:events";
import type { Command } from "commander";
import { InstanceKind } from "@kumo/api";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";

/** Registers `logs`. */
export function register(program: Command): void {
  program
    .command("logs")
    .description("console of a VM or stdout/stderr of a container, through the API (-f follows it)")
    .argument("<instance>", "instance name")
    .option("-f, --follow", "keep printing new output until interrupted or the instance goes away")
    .option("--tail-bytes <n>", "at most the last N bytes", String(1 << 20))
    .action(async (name: string, o: { follow?: boolean; tailBytes: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const tail = Number(o.tailBytes);
      if (!Number.isInteger(tail) || tail < 1) throw new UserError(`--tail-bytes must be a positive integer, not "${o.tailBytes}"`);
      if (!o.follow) return void process.stdout.write(await ctx.client.log(InstanceKind, ctx.namespace, name, { tailBytes: tail }));
      for await (const chunk of ctx.client.followLog(InstanceKind, ctx.namespace, name, { tailBytes: tail })) {
        // A slow reader (a pager, a pipe) holds the stream instead of piling the log up in memory.
        if (!process.stdout.write(chunk)) await once(process.stdout, "drain");
      }
    });
}
