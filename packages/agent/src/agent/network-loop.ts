/**
 * The `network` loop: one key, the host's dataplane. Each pass computes the whole desired state from the
 * caches (hosts, networks, subnets, ports), creates or deletes this host's DHCP ports, converges the overlay
 * (bridge, VXLAN, FDB, neighbours) and unplugs stale probes; the per-network services (dnsmasq, probes, DHCP
 * port status) are the `dhcp` loop's, which this loop feeds. Watch events are coalesced for 5 ms, so a burst
 * costs one pass. An event that leaves the desired dataplane as the last clean sync made it skips the kernel
 * read (kumo_agent_syncs_total{result="skipped"}); the periodic resync always reads and repairs drift.
 */
import { type Host, type Port, PortKind, isNotFound } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { Controller, type Logger, informerSource, periodicSource } from "@kumo/runtime";
import type { NetworkDriver, SyncReport } from "../network/types.js";
import { DHCP_OWNER, type DesiredHost, computeDesired, dhcpPortName } from "./desired.js";
import type { AgentEvents } from "./events.js";
import type { AgentCaches } from "./informers.js";
import type { AgentMetrics } from "./metrics.js";
import type { ProbeManager } from "./probes.js";
import { AGENT_MANAGER, type HostIdentity } from "./registration.js";

/** The network loop's only key. */
export const DATAPLANE_KEY = "dataplane";
/** Watch events within this window share one pass. */
const COALESCE_MS = 5;

/** What the network loop works with. */
export interface NetworkLoopOptions {
  identity: HostIdentity;
  underlayDev: string;
  client: KumoClient;
  caches: AgentCaches;
  driver: NetworkDriver;
  probes: ProbeManager;
  metrics: AgentMetrics;
  events: Pick<AgentEvents, "record">;
  log: Logger;
  /** Period of the resync that re-reads the kernel (default 5 s). */
  resyncMs?: number;
  /** Called after every pass with the desired state it computed (feeds the dhcp and instance loops). */
  onPass(d: DesiredHost): void;
}

/** A sync as /debug/state's recentSyncs lists it. */
export interface SyncSummary {
  at: string;
  durationMs: number;
  writes: number;
  phasesMs: SyncReport["phasesMs"];
  driftRepairs: number;
}

/** The host's dataplane loop. */
export class NetworkLoop {
  readonly controller: Controller;
  /** The desired state of the last pass. */
  desired?: DesiredHost;
  lastReport?: SyncReport;
  passes = 0;
  syncsSkipped = 0;
  lastError?: { stage: string; message: string; at: string };
  readonly recentSyncs: SyncSummary[] = [];
  /** The next pass reads the kernel even if the desired dataplane is what the last clean sync made. */
  private readKernel = true;
  /** The desired dataplane the last sync without errors converged to (JSON). */
  private converged?: string;

  constructor(private readonly o: NetworkLoopOptions) {
    const resyncMs = o.resyncMs ?? 5000;
    const always = () => DATAPLANE_KEY;
    const coalesce = { delayMs: COALESCE_MS };
    this.controller = new Controller({
      name: "network",
      log: o.log,
      workers: 1,
      // A failed stage is retried after 1 s, then less often, but never less often than the resync.
      baseDelayMs: 1000,
      maxDelayMs: resyncMs,
      sources: [
        periodicSource("resync", resyncMs, DATAPLANE_KEY, { onTick: () => (this.readKernel = true) }),
        informerSource("networks", o.caches.networks, always, coalesce),
        informerSource("subnets", o.caches.subnets, always, coalesce),
        informerSource("ports", o.caches.ports, always, coalesce),
        // Every agent beats every 2 s; only a peer's VTEP or spec matters to this host's dataplane.
        informerSource(
          "hosts",
          o.caches.hosts,
          (h, ev, old) => (ev !== "update" || peerChanged(old!, h) ? DATAPLANE_KEY : undefined),
          coalesce,
        ),
      ],
      reconciler: () => this.pass(),
      debug: () => ({ passes: this.passes, syncsSkipped: this.syncsSkipped, lastError: this.lastError }),
    });
  }

  /** One pass: desired state from the caches, then DHCP ports, the overlay and stale probes. */
  private async pass(): Promise<void> {
    this.passes++;
    const id = this.o.identity;
    const c = this.o.caches;
    const d = computeDesired({
      self: id.name,
      localVtep: id.underlayIP,
      underlayDev: this.o.underlayDev,
      hosts: c.hosts.list(),
      networks: c.networks.list(),
      subnets: c.subnets.list(),
      ports: c.ports.list(),
    });
    this.desired = d;
    this.o.metrics.problems.reset();
    for (const p of d.problems) this.o.metrics.problems.labels(p.reason).inc();
    const failed: string[] = [];
    await this.stage("dhcp-port", () => this.ensureDhcpPorts(d), failed);
    await this.stage("sync", () => this.sync(d), failed);
    await this.stage("probe", () => this.o.probes.prune(d.probes), failed);
    this.o.metrics.probes.set(this.o.probes.snapshot().plugged.length);
    this.o.onPass(d);
    if (failed.length) {
      // Whatever failed may have left the kernel unlike the last clean sync: the retry reads it.
      this.readKernel = true;
      throw new Error(failed.join("; "));
    }
  }

  // A stage's failure does not stop the stages after it (a refused DHCP port must not keep the overlay down).
  private async stage(name: string, fn: () => Promise<void>, failed: string[]): Promise<void> {
    try {
      await fn();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.o.metrics.reconcileErrors.labels(name).inc();
      this.lastError = { stage: name, message, at: new Date().toISOString() };
      failed.push(`${name}: ${message}`);
    }
  }

  private async sync(d: DesiredHost): Promise<void> {
    // An event that leaves this host's dataplane as it was (a port on another network, a peer without its
    // VTEP yet) needs no kernel read; drift nobody announced waits for the resync.
    const want = JSON.stringify(d.dataplane);
    const readKernel = this.readKernel;
    this.readKernel = false;
    if (!readKernel && want === this.converged) {
      this.syncsSkipped++;
      this.o.metrics.syncs.labels("skipped").inc();
      return;
    }
    this.converged = undefined;
    const report = await this.o.driver.sync(d.dataplane);
    if (report.errors.length === 0) this.converged = want;
    this.lastReport = report;
    const { startedAt: at, durationMs, writes, phasesMs, driftRepairs } = report;
    this.recentSyncs.push({ at, durationMs, writes, phasesMs, driftRepairs });
    if (this.recentSyncs.length > 20) this.recentSyncs.shift();
    this.o.metrics.observeSync(report);
    if (report.driftRepairs > 0) {
      const host = this.o.caches.hosts.get(this.o.identity.name);
      const n = report.driftRepairs;
      const why = `restored ${n} dataplane entr${n === 1 ? "y" : "ies"} that had vanished from the kernel`;
      if (host) await this.o.events.record(host, "Warning", "DriftRepaired", why);
      this.o.log.warn({ repairs: n }, "dataplane drift repaired");
    }
  }

  private async ensureDhcpPorts(d: DesiredHost): Promise<void> {
    const self = this.o.identity.name;
    for (const m of d.missingDhcpPorts) {
      await this.o.client
        .create<Port>(
          PortKind,
          {
            apiVersion: "network.kumo.dev/v1",
            kind: "Port",
            metadata: { name: dhcpPortName(m.network, self), namespace: m.namespace, labels: { "network.kumo.dev/host": self } },
            spec: { network: m.network, hostBinding: self, deviceOwner: DHCP_OWNER },
          },
          { fieldManager: AGENT_MANAGER },
        )
        .catch((e) => {
          if ((e as { reason?: string }).reason !== "AlreadyExists") throw e;
        });
    }
    // DHCP ports of networks that no longer have workload ports here give their address back.
    const localNets = new Set(d.dataplane.networks.map((n) => n.name));
    for (const p of this.o.caches.ports.list()) {
      if (p.spec!.deviceOwner !== DHCP_OWNER || p.spec!.hostBinding !== self) continue;
      if (localNets.has(`${p.metadata.namespace}.${p.spec!.network}`)) continue;
      await this.o.client.delete(PortKind, p.metadata.namespace, p.metadata.name!).catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    }
  }
}

/** Did a host change in a way a peer's dataplane sees (its VTEP annotations or its spec)? */
function peerChanged(a: Host, b: Host): boolean {
  const same = (x: unknown, y: unknown) => JSON.stringify(x) === JSON.stringify(y);
  return !same(a.metadata.annotations, b.metadata.annotations) || !same(a.spec, b.spec);
}
