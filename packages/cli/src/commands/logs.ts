/**
 * `kumo logs INSTANCE [-f] [--tail-bytes N]`: a container's stdout/stderr or a VM's serial console.
 * Read through the API (`GET .../instances/NAME/log`: RBAC decides, the server asks the host's agent),
 * and straight from that host's state dir under $KUMO_HOME when the agent does not answer (an agent
 * that is down must not hide the console of instances that keep running without it) or with -f.
 */
import { open, stat } from "node:fs/promises";
import type { Command } from "commander";
import { ApiError, type Instance, InstanceKind } from "@kumo/api";
import { sleep } from "@kumo/client";
import { hostFiles } from "@kumo/agent/lab/agent-process";
import { labNames } from "@kumo/agent/lab/naming";
import { instanceLogPath } from "@kumo/agent/agent/instance-paths";
import { runtimeId } from "@kumo/agent/agent/instance-spec";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { cloudPaths } from "../daemon.js";

/** Registers `logs`. */
export function register(program: Command): void {
  program.command("logs")
    .description("console of a VM or stdout/stderr of a container (through the API; -f follows the local state dir)")
    .argument("<instance>", "instance name")
    .option("-f, --follow", "keep printing new output (local state dir of this machine's cloud only)")
    .option("--tail-bytes <n>", "at most the last N bytes", String(1 << 20))
    .action(async (name: string, o: { follow?: boolean; tailBytes: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const tail = Number(o.tailBytes);
      if (!Number.isInteger(tail) || tail < 1) throw new UserError(`--tail-bytes must be a positive integer, not "${o.tailBytes}"`);
      if (!o.follow) {
        try {
          return void process.stdout.write(await ctx.client.log(InstanceKind, ctx.namespace, name, { tailBytes: tail }));
        } catch (e) {
          // Only an unreachable agent falls back to the files; "forbidden" or "not found" are the answer.
          if (!(e instanceof ApiError && e.code === 503)) throw e;
          process.stderr.write(`(${e.message}; reading this machine's state dir)\n`);
        }
      }
      const inst = await ctx.client.get<Instance>(InstanceKind, ctx.namespace, name);
      const host = inst.status?.host;
      if (!host) throw new UserError(`instance/${name} is not on a host yet (phase ${inst.status?.phase ?? "Pending"})`);
      const file = instanceLogPath(hostFiles(labNames(cloudPaths().home), host).state, inst.spec!.kind, runtimeId(inst));
      let offset = await printFrom(file, -tail);
      while (o.follow) {
        await sleep(250);
        offset = await printFrom(file, offset);
      }
    });
}

// Prints the file from `offset` (negative: that many bytes before the end); returns the new end.
async function printFrom(file: string, offset: number): Promise<number> {
  const size = await stat(file).then((s) => s.size, () => -1);
  if (size < 0) throw new UserError(`no log at ${file} (is the instance on this machine's lab?)`);
  const from = offset < 0 ? Math.max(0, size + offset) : size < offset ? 0 : offset;
  if (size > from) {
    const fh = await open(file, "r");
    try {
      const buf = Buffer.alloc(size - from);
      await fh.read(buf, 0, buf.length, from);
      process.stdout.write(buf);
    } finally {
      await fh.close();
    }
  }
  return size;
}
