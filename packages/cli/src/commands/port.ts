/**
 * `kumo port create|plug|unplug|exec`: ports and the probe namespaces behind them. `plug` asks the bound
 * host's agent (spec.plugged) to put a namespace behind the port and run a DHCP client in it; `exec`
 * runs a command in that namespace (on this machine: the cloud-in-a-box hosts are local namespaces).
 */
import { spawnSync } from "node:child_process";
import type { Command } from "commander";
import { PortKind } from "@kumo/api";
import { sleep } from "@kumo/client";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";

/** Registers `port`. */
export function register(program: Command): void {
  const port = program.command("port").description("ports on networks, and probe namespaces behind them");
  port
    .command("create")
    .argument("<name>", "port name")
    .requiredOption("--network <network>", "network of the port")
    .option("--host <host>", "host to bind the port to")
    .option("--ip <ip>", "fixed IP (default: allocated by IPAM)")
    .description("create a port (MAC and IP allocated by the server)")
    .action(async (name: string, o: { network: string; host?: string; ip?: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const p = await ctx.client.create(
        PortKind,
        {
          apiVersion: "network.kumo.dev/v1",
          kind: "Port",
          metadata: { name, namespace: ctx.namespace },
          spec: {
            network: o.network,
            deviceOwner: "probe",
            ...(o.host ? { hostBinding: o.host } : {}),
            ...(o.ip ? { fixedIPs: [{ subnet: "", ipAddress: o.ip }] } : {}),
          },
        },
        { fieldManager: "kumo-cli" },
      );
      process.stdout.write(
        `port.network.kumo.dev/${name} created (${p.spec!.fixedIPs?.[0]?.ipAddress}, ${p.spec!.macAddress}` +
          `${o.host ? `, host ${o.host}` : ""})\n`,
      );
    });
  port
    .command("plug")
    .argument("<name>", "port name")
    .option("--timeout <seconds>", "how long to wait for the DHCP lease", "30")
    .description("put a namespace behind the port on its host and get its address over DHCP")
    .action(async (name: string, o: { timeout: string }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const ns = ctx.namespace;
      const cur = await ctx.client.get(PortKind, ns, name);
      if (!cur.spec!.hostBinding)
        throw new UserError(`port ${name} has no host binding: kumo patch port ${name} -n ${ns} -p '{"spec":{"hostBinding":"HOST"}}'`);
      await ctx.client.patch(PortKind, ns, name, "merge", { spec: { plugged: true } }, { fieldManager: "kumo-cli" });
      const deadline = Date.now() + Number(o.timeout) * 1000;
      for (;;) {
        const p = await ctx.client.get(PortKind, ns, name);
        if (p.status?.phase === "Active" && p.status.leasedAddress) {
          process.stdout.write(
            `port ${name} plugged on ${p.spec!.hostBinding}: ${p.status.device} got ${p.status.leasedAddress} over DHCP\n`,
          );
          return;
        }
        if (Date.now() > deadline)
          throw new UserError(
            `port ${name} is not plugged after ${o.timeout}s (phase ${p.status?.phase ?? "Pending"}); ` +
              `see: kumo describe port ${name} -n ${ns}, and kumo doctor`,
          );
        await sleep(200);
      }
    });
  port
    .command("unplug")
    .argument("<name>", "port name")
    .description("remove the probe namespace behind the port")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      await ctx.client.patch(PortKind, ctx.namespace, name, "merge", { spec: { plugged: false } }, { fieldManager: "kumo-cli" });
      process.stdout.write(`port ${name} unplugged\n`);
    });
  port
    .command("exec")
    .argument("<name>", "port name")
    .argument("<command...>", "command to run inside the port's namespace (after --)")
    .description("run a command in the port's probe namespace (e.g. ping, nslookup)")
    .action(async (name: string, argv: string[], _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const p = await ctx.client.get(PortKind, ctx.namespace, name);
      const netns = p.status?.device;
      if (!netns || p.status?.phase !== "Active") throw new UserError(`port ${name} is not plugged: run "kumo port plug ${name}" first`);
      // `ip netns exec` also applies /etc/netns/<ns>/resolv.conf, so names resolve through the network's dnsmasq.
      const r = spawnSync("ip", ["netns", "exec", netns, ...argv], { stdio: "inherit" });
      if (r.error)
        throw new UserError(`cannot run "ip netns exec ${netns}": ${r.error.message} (the port's namespace must be on this machine)`);
      process.exitCode = r.status ?? 1;
    });
}
