/**
 * Probe namespaces behind ports (`kumo port plug`): a netns with a veth into the network's bridge and
 * the port's MAC, configured by a real DHCP client. Instances reuse the same plumbing later.
 */
import { readdir } from "node:fs/promises";
import { createHash } from "node:crypto";
import { type Port, PortKind, setCondition } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { deviceNames } from "../network/types.js";
import { netnsExists, plugPort, portIfName, runDhcpClient, unplugPort } from "../network/port-plug.js";
import type { AgentEvents } from "./events.js";

/** Netns name of a port's probe: `<prefix>-p-<8 hex of uid>` (the prefix is the host name, so sweeps never touch another host's probes). */
export function probeNetns(prefix: string, port: Port): string {
  return `${prefix}-p-${createHash("sha1").update(port.metadata.uid!).digest("hex").slice(0, 8)}`;
}

interface Plugged {
  netns: string;
  ifName: string;
  ip?: string;
}

/** Keeps the plugged probes equal to the desired ones. */
export class ProbeManager {
  private readonly plugged = new Map<string, Plugged>(); // port uid → probe
  private readonly failures = new Map<string, { count: number; next: number }>();
  pluggedTotal = 0;
  unpluggedTotal = 0;

  constructor(
    private readonly client: KumoClient,
    private readonly events: AgentEvents,
    private readonly o: { prefix: string; stateDir: string; vniOf: (port: Port) => number | undefined; mtuOf: (port: Port) => number },
  ) {}

  /** Unplugs probes no longer desired (including leftovers of a previous agent run); plugs nothing. */
  async prune(desired: Port[]): Promise<void> {
    const want = new Map(desired.map((p) => [p.metadata.uid!, p]));
    for (const [uid, pr] of this.plugged) {
      if (want.has(uid)) continue;
      await unplugPort({ portNetns: pr.netns, ifName: pr.ifName }).catch(() => undefined);
      this.plugged.delete(uid);
      this.unpluggedTotal++;
    }
    // Namespaces with our prefix that no desired probe claims were left by a crash: remove them.
    const names = new Set(desired.map((p) => probeNetns(this.o.prefix, p)));
    for (const ns of await readdir("/run/netns").catch(() => [] as string[])) {
      if (ns.startsWith(`${this.o.prefix}-p-`) && !names.has(ns) && ![...this.plugged.values()].some((p) => p.netns === ns)) {
        await unplugPort({ portNetns: ns, ifName: "" }).catch(() => undefined);
      }
    }
  }

  /**
   * Plugs (or adopts) the probes of `desired`, the ports of one network whose DHCP server runs: the probe asks
   * it for an address. A probe that failed is not tried again before its backoff ends.
   */
  async ensure(desired: Port[]): Promise<void> {
    for (const p of desired) {
      const done = this.plugged.get(p.metadata.uid!);
      if (done) {
        // Level-triggered: if someone rewrote the port's status, say again what is true.
        const st = p.status;
        if (st?.phase !== "Active" || st.device !== done.netns || st.leasedAddress !== done.ip)
          await this.writeStatus(p, done.netns, done.ip!);
        continue;
      }
      // An agent restart adopts a probe that is still in place instead of re-plugging it.
      const st = p.status;
      const netns = probeNetns(this.o.prefix, p);
      if (st?.phase === "Active" && st.device === netns && st.leasedAddress && (await netnsExists(netns))) {
        this.plugged.set(p.metadata.uid!, { netns, ifName: portIfName(p.metadata.uid!), ip: st.leasedAddress });
        continue;
      }
      const f = this.failures.get(p.metadata.uid!);
      if (f && Date.now() < f.next) continue;
      try {
        await this.plug(p);
        this.failures.delete(p.metadata.uid!);
      } catch (e) {
        const count = (f?.count ?? 0) + 1;
        this.failures.set(p.metadata.uid!, { count, next: Date.now() + Math.min(30_000, 500 * 2 ** count) });
        await this.events.record(p, "Warning", "PlugFailed", `plugging the probe failed (attempt ${count}): ${(e as Error).message}`);
        throw e;
      }
    }
  }

  private async plug(p: Port): Promise<void> {
    const vni = this.o.vniOf(p);
    if (!vni) throw new Error(`network ${p.spec!.network} has no VNI yet`);
    const netns = probeNetns(this.o.prefix, p);
    const ifName = portIfName(p.metadata.uid!);
    const started = Date.now();
    await plugPort({ portNetns: netns, bridge: deviceNames(vni).bridge, mac: p.spec!.macAddress!, mtu: this.o.mtuOf(p), ifName });
    const lease = await runDhcpClient(netns, { stateDir: this.o.stateDir, timeoutMs: 15_000 });
    this.plugged.set(p.metadata.uid!, { netns, ifName, ip: lease.ip });
    this.pluggedTotal++;
    await this.writeStatus(p, netns, lease.ip);
    await this.events.record(p, "Normal", "Plugged", `probe namespace ${netns} got ${lease.ip} over DHCP in ${Date.now() - started} ms`);
  }

  private async writeStatus(p: Port, netns: string, ip: string): Promise<void> {
    const lease = { ip };
    const expected = p.spec!.fixedIPs?.[0]?.ipAddress;
    const now = new Date().toISOString();
    await this.client.guaranteedUpdate<Port>(
      PortKind,
      p.metadata.namespace,
      p.metadata.name!,
      (cur) => {
        let conds = setCondition(
          cur.status?.conditions,
          { type: "Plugged", status: "True", reason: "ProbeNamespace", message: `netns ${netns}` },
          now,
        );
        conds = setCondition(
          conds,
          {
            type: "AddressAssigned",
            status: lease.ip === expected ? "True" : "False",
            reason: lease.ip === expected ? "DHCP" : "UnexpectedAddress",
            message: `DHCP gave ${lease.ip}${expected && lease.ip !== expected ? ` (expected ${expected})` : ""}`,
          },
          now,
        );
        return { ...cur, status: { ...(cur.status ?? {}), phase: "Active", device: netns, leasedAddress: lease.ip, conditions: conds } };
      },
      { subresource: "status", fieldManager: "kumo-agent" },
    );
  }

  /** Removes every probe this agent plugged (shutdown with --cleanup). */
  async unplugAll(): Promise<void> {
    for (const pr of this.plugged.values()) await unplugPort({ portNetns: pr.netns, ifName: pr.ifName }).catch(() => undefined);
    this.plugged.clear();
  }

  /** State for /debug/state. */
  snapshot() {
    return {
      plugged: [...this.plugged.entries()].map(([uid, p]) => ({ uid, ...p })),
      failing: [...this.failures.entries()].map(([uid, f]) => ({ uid, attempts: f.count })),
      pluggedTotal: this.pluggedTotal,
      unpluggedTotal: this.unpluggedTotal,
    };
  }
}
