/**
 * The `dhcp` loop: one key per network this host serves (its dnsmasq name, `<namespace>_<network>`). Each
 * reconcile converges that network's services only: its dnsmasq (started, reloaded, or removed once the
 * network left the host), its probes (they ask that dnsmasq for an address) and its DHCP port's status. So one
 * network's bad config or stuck probe fails that key alone. The network loop queues every key after each
 * of its passes; each reconcile queues the instances, which may have been waiting for this network's DHCP.
 */
import { type Port, PortKind } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { Controller, type Logger } from "@kumo/runtime";
import type { DhcpDriver, DhcpNetworkConfig } from "../dhcp/types.js";
import type { NetworkDataplane } from "../network/types.js";
import { DHCP_OWNER, type DesiredHost } from "./desired.js";
import type { AgentCaches } from "./informers.js";
import type { AgentMetrics } from "./metrics.js";
import type { ProbeManager } from "./probes.js";
import { AGENT_MANAGER } from "./registration.js";

/** The dnsmasq name (and dhcp loop key) of the network `<namespace>.<network>`. */
export const dhcpName = (dataplaneName: string): string => dataplaneName.replace(/\./g, "_");

/** Leases and logs are read after a change, otherwise at most this often (they feed metrics and status). */
const OBSERVE_EVERY_MS = 2000;

/** What the dhcp loop works with. */
export interface DhcpLoopOptions {
  self: string;
  client: KumoClient;
  caches: Pick<AgentCaches, "ports">;
  driver: DhcpDriver;
  probes: ProbeManager;
  metrics: AgentMetrics;
  log: Logger;
  /** The network loop's last desired state. */
  desired(): DesiredHost | undefined;
  /** Called after each reconcile of a network (instances waiting for its DHCP look again). */
  onReconciled(network: string): void;
  workers?: number;
}

/** Per-network DHCP/DNS, probes and DHCP port status. */
export class DhcpLoop {
  readonly controller: Controller;
  /** What each network's dnsmasq was last made to serve (the instance flow checks a MAC is served before DHCP). */
  readonly applied = new Map<string, DhcpNetworkConfig>();
  private readonly lastObserve = new Map<string, number>();

  constructor(private readonly o: DhcpLoopOptions) {
    this.controller = new Controller({
      name: "dhcp",
      log: o.log,
      workers: o.workers ?? 4,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      reconciler: (_ctx, key) => this.reconcile(key),
      debug: () => ({ serving: [...this.applied.keys()] }),
    });
  }

  /** Queues every network that is local in `d` or still served (so a network that left the host is removed). */
  enqueueAll(d: DesiredHost): void {
    for (const n of d.dataplane.networks) this.controller.add(dhcpName(n.name));
    for (const n of this.applied.keys()) this.controller.add(n);
  }

  private async reconcile(key: string): Promise<void> {
    const d = this.o.desired();
    if (!d) return;
    const dp = d.dataplane.networks.find((n) => dhcpName(n.name) === key);
    const cfg = d.dhcp.find((c) => c.network === key);
    const failed: string[] = [];
    let changed = false;
    await this.stage("dhcp", failed, async () => {
      if (cfg) {
        changed = (await this.o.driver.ensure(cfg)) !== "unchanged";
        this.applied.set(key, cfg);
      } else if (this.applied.has(key)) {
        await this.o.driver.remove(key);
        this.applied.delete(key);
        this.lastObserve.delete(key);
        changed = true;
      }
      // Instances wait for "running": read after a change; otherwise a burst of peer events re-reads no logs.
      if (changed || (cfg && Date.now() - (this.lastObserve.get(key) ?? 0) > OBSERVE_EVERY_MS)) {
        this.lastObserve.set(key, Date.now());
        await this.o.driver.observe(key);
      }
    });
    if (dp) {
      const probes = d.probes.filter((p) => `${p.metadata.namespace}.${p.spec!.network}` === dp.name);
      if (probes.length) await this.stage("probe", failed, () => this.o.probes.ensure(probes));
      await this.stage("status", failed, () => this.markDhcpPort(dp));
    }
    this.o.onReconciled(key);
    if (failed.length) throw new Error(failed.join("; "));
  }

  private async stage(name: string, failed: string[], fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.o.metrics.reconcileErrors.labels(name).inc();
      failed.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** The network's DHCP port is Active once its dnsmasq runs (its "device" is the bridge), else Bound. */
  private async markDhcpPort(dp: NetworkDataplane): Promise<void> {
    const running = this.o.driver.snapshot().networks[dhcpName(dp.name)]?.running;
    const phase = running ? "Active" : "Bound";
    for (const p of this.o.caches.ports.list()) {
      if (p.spec!.deviceOwner !== DHCP_OWNER || p.spec!.hostBinding !== this.o.self) continue;
      if (`${p.metadata.namespace}.${p.spec!.network}` !== dp.name) continue;
      if (p.status?.phase === phase && p.status.device === dp.bridge) continue;
      await this.o.client.patch<Port>(
        PortKind,
        p.metadata.namespace,
        p.metadata.name!,
        "merge",
        { status: { phase, device: dp.bridge } },
        { subresource: "status", fieldManager: AGENT_MANAGER },
      );
    }
  }
}
