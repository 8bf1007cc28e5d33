/** `kumo network create|delete|list`: a Network (VNI allocated by the server) and its Subnet, in one step. */
import type { Command } from "commander";
import { NetworkKind, SubnetKind, type SubnetSpec, isNotFound, parseCidr } from "@kumo/api";
import { CliContext } from "../context.js";
import { UserError } from "../errors.js";

/** Registers `network`. */
export function register(program: Command): void {
  const net = program.command("network").description("overlay networks (VXLAN) with a subnet, IPAM and DHCP");
  net
    .command("create")
    .argument("<name>", "network name")
    .requiredOption("--cidr <cidr>", "IPv4 subnet, e.g. 10.60.0.0/24")
    .option("--gateway <ip>", "gateway address (default: the first address)")
    .option("--no-dhcp", "do not serve DHCP on this network")
    .option("--dns <ips...>", "DNS servers handed out by DHCP (default: the host's dnsmasq)")
    .description("create a network and its subnet")
    .action(async (name: string, o: { cidr: string; gateway?: string; dhcp: boolean; dns?: string[] }, cmd: Command) => {
      if (!parseCidr(o.cidr)) throw new UserError(`--cidr "${o.cidr}" is not an IPv4 CIDR with zero host bits, like 10.60.0.0/24`);
      const ctx = CliContext.from(cmd);
      const ns = ctx.namespace;
      const n = await ctx.client.create(
        NetworkKind,
        { apiVersion: "network.kumo.dev/v1", kind: "Network", metadata: { name, namespace: ns }, spec: {} },
        { fieldManager: "kumo-cli" },
      );
      const spec: SubnetSpec = {
        network: name,
        cidr: o.cidr,
        enableDhcp: o.dhcp,
        ...(o.gateway ? { gateway: o.gateway } : {}),
        ...(o.dns ? { dnsServers: o.dns } : {}),
      };
      try {
        await ctx.client.create(
          SubnetKind,
          { apiVersion: "network.kumo.dev/v1", kind: "Subnet", metadata: { name: `${name}-v4`, namespace: ns }, spec },
          { fieldManager: "kumo-cli" },
        );
      } catch (e) {
        // Do not leave a network without a subnet behind: the create is one step for the user.
        await ctx.client.delete(NetworkKind, ns, name).catch(() => undefined);
        throw e;
      }
      process.stdout.write(`network.network.kumo.dev/${name} created (VNI ${n.spec?.vni}, subnet ${name}-v4 ${o.cidr})\n`);
    });
  net
    .command("delete")
    .argument("<name>", "network name")
    .description("delete a network and its subnet (refused while ports use it)")
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const ns = ctx.namespace;
      await ctx.client.delete(NetworkKind, ns, name);
      for (const s of (await ctx.client.listAll(SubnetKind, ns)).items) {
        if (s.spec?.network !== name) continue;
        await ctx.client.delete(SubnetKind, ns, s.metadata.name!).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
      }
      process.stdout.write(`network.network.kumo.dev/${name} deleted\n`);
    });
}
