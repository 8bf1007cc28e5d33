/**
 * `kumo logs INSTANCE [-f] [--tail-bytes N]`: a container's stdout/stderr or a VM's serial console.
 * Read through the agent of the instance's host (`GET http://<underlay IP>:9470/debug/instances/NS/NAME/logs`),
 * and straight from that host's state dir under $KUMO_HOME when the agent does not answer (an agent
 * that is down must not hide the console of instances that keep running without it).
 */
import { open, stat } from "node:fs/promises";
import type { Command } from "commander";
import { type Host, HostKind, type Instance, InstanceKind } from "@kumo/api";
import { sleep } from "@kumo/client";
import { hostFiles } from "@kumo/agent/lab/agent-process";
import { labNames } from "@kumo/agent/lab/naming";
import { instanceLogPath } from "@kumo/agent/agent/instance-paths";
import { runtimeId } from "@kumo/agent/agent/instance-spec";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";
import { cloudPaths } from "../daemon.js";

/** Port of the agents' metrics/debug endpoint (main.ts default). */
export const AGENT_PORT = 9470;

/** Registers `logs`. */
export function register(program: Command): void {
  program.command("logs")
    .description("console of a VM or stdout/stderr of a container (via its host's agent, else the local state dir)")
    .argument("<instance>", "instance name")
    .option("-f, --follow", "keep printing new output (local state dir only)")
    .option("--tail-bytes <n>", "at most the last N bytes", String(1 << 20))
    .action(async (name: string, o: { follow?: boolean; tailBytes: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const inst = await ctx.client.get<Instance>(InstanceKind, ctx.namespace, name);
      const host = inst.status?.host;
      if (!host) throw new UserError(`instance/${name} is not on a host yet (phase ${inst.status?.phase ?? "Pending"})`);
      const tail = Number(o.tailBytes) || 1 << 20;
      const file = instanceLogPath(hostFiles(labNames(cloudPaths().home), host).state, inst.spec!.kind, runtimeId(inst));
      if (!o.follow) {
        const viaAgent = await fromAgent(ctx, host, inst, tail);
        if (viaAgent !== undefined) return void process.stdout.write(viaAgent);
        process.stderr.write(`(agent of ${host} did not answer; reading ${file})\n`);
      }
      let offset = await printFrom(file, -tail);
      while (o.follow) {
        await sleep(250);
        offset = await printFrom(file, offset);
      }
    });
}

// undefined = agent unreachable (fall back); a 404 or other answer is an error worth showing.
async function fromAgent(ctx: CliContext, hostName: string, inst: Instance, tail: number): Promise<string | undefined> {
  const host = await ctx.client.get<Host>(HostKind, undefined, hostName).catch(() => undefined);
  const ip = host?.spec?.underlayIP ?? host?.status?.addresses?.[0]?.address;
  if (!ip) return undefined;
  const url = `http://${ip}:${AGENT_PORT}/debug/instances/${encodeURIComponent(inst.metadata.namespace!)}/${encodeURIComponent(inst.metadata.name!)}/logs?tailBytes=${tail}`;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(3000) });
  } catch {
    return undefined;
  }
  const text = await res.text();
  if (!res.ok) throw new UserError(`agent of ${hostName}: ${text.trim() || res.status}`);
  return text;
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
