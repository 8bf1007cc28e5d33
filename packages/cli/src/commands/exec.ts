/**
 * `kumo exec INSTANCE -- CMD [ARGS...]`: runs a command inside a running container with `runc exec`
 * against the host agent's runc root under $KUMO_HOME (the CLI runs on the machine that runs the lab,
 * as root). Not through the agent: its HTTP endpoint is unauthenticated, and remote exec over it would
 * hand a shell to anyone on the underlay. Exit code and stdio are the command's own.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Command } from "commander";
import { InstanceKind } from "@kumo/api";
import { labContainer } from "@kumo/agent";
import { CliContext } from "../context.js";
import { AlreadyReported, UserError } from "../errors.js";
import { cloudPaths } from "../daemon.js";

/** Registers `exec`. */
export function register(program: Command): void {
  program
    .command("exec")
    .description("run a command in a running container (same machine as the lab, as root): kumo exec NAME -- CMD")
    .argument("<instance>", "container instance name")
    .argument("<command...>", "command and arguments (after --)")
    .option("-t, --tty", "allocate a terminal (default: when stdin and stdout are terminals)")
    .action(async (name: string, command: string[], o: { tty?: boolean }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const inst = await ctx.client.get(InstanceKind, ctx.namespace, name);
      if (inst.spec?.kind !== "container")
        throw new UserError(`instance/${name} is a VM: exec works for containers (use kumo logs ${name} for its console)`);
      const host = inst.status?.host;
      if (!host || inst.status?.phase !== "Running")
        throw new UserError(`instance/${name} is not running (phase ${inst.status?.phase ?? "Pending"}): kumo instance describe ${name}`);
      const { ociRoot: root, id } = labContainer(cloudPaths().home, host, inst);
      if (!existsSync(root)) throw new UserError(`no runc state at ${root}: exec needs the machine that runs host ${host} (and root)`);
      if (process.getuid?.() !== 0) throw new UserError("exec runs runc against the host's containers: run it as root");
      const tty = o.tty ?? (process.stdin.isTTY && process.stdout.isTTY);
      const child = spawn("runc", ["--root", root, "exec", ...(tty ? ["--tty"] : []), id, ...command], { stdio: "inherit" });
      const code = await new Promise<number>((resolve, reject) => {
        child.on("error", (e) => reject(new UserError(`cannot run runc: ${e.message}`)));
        child.on("close", (c, sig) => resolve(c ?? (sig ? 128 : 1)));
      });
      if (code !== 0) throw new AlreadyReported(code);
    });
}
