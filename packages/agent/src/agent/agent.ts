/**
 * `kumo agent`: one per host. Registers the Host, beats, watches hosts/networks/subnets/ports through
 * informers and converges the host to the desired state: overlay (bridge, VXLAN, FDB, neighbours),
 * dnsmasq per network, the host's DHCP ports and probe namespaces. Level-triggered: every pass
 * computes the whole desired state; watch events only decide when the next pass runs, and a periodic
 * resync repairs drift nobody announced (an FDB entry deleted by hand).
 */
import { type Host, HostKind, type Image, ImageKind, type Instance, InstanceKind, type KObject, type Network, NetworkKind, type Port, PortKind, type SubnetSpec, SubnetKind, isNotFound } from "@kumo/api";
import { setMaxListeners } from "node:events";
import { join } from "node:path";
import { Informer, type KumoClient } from "@kumo/client";
import type { Logger } from "pino";
import { DnsmasqDriver } from "../dhcp/dnsmasq.js";
import { LinuxNetworkDriver } from "../network/linux-driver.js";
import { CompositeRuntimeDriver } from "../runtime/composite.js";
import { QemuDriver } from "../runtime/qemu/qemu-driver.js";
import { RuncDriver } from "../runtime/runc/runc-driver.js";
import type { SyncReport } from "../network/types.js";
import { DHCP_OWNER, type DesiredHost, computeDesired, dhcpPortName } from "./desired.js";
import { AgentEvents } from "./events.js";
import { ImageCache, blobPath } from "./image-cache.js";
import { agentDataplane } from "./instance-env.js";
import { InstanceMetrics } from "./instance-metrics.js";
import { runtimeDir } from "./instance-paths.js";
import { InstanceManager } from "./instances.js";
import { AgentMetrics } from "./metrics.js";
import { ProbeManager } from "./probes.js";
import { AGENT_MANAGER, type HostIdentity, heartbeat, publishVtep, registerHost } from "./registration.js";
import { VTEP_IP_ANNOTATION } from "@kumo/api";

/** Agent settings. */
export interface AgentOptions {
  identity: HostIdentity;
  underlayDev: string;
  stateDir: string;
  /** Prefix of probe namespaces this agent creates (`<prefix>-p-...`). */
  netnsPrefix: string;
  heartbeatMs?: number;
  resyncMs?: number;
  /** How often the VTEP annotations are re-published if someone removed them. */
  republishMs?: number;
  /** Image blob cache (default `<stateDir>/images`); agents on one machine may share it. */
  imageCacheDir?: string;
}

/** The host agent. */
export class HostAgent {
  readonly metrics = new AgentMetrics();
  readonly network = new LinuxNetworkDriver();
  readonly dnsmasq: DnsmasqDriver;
  private readonly informers: { hosts: Informer<Host>; networks: Informer<Network>; subnets: Informer<KObject<SubnetSpec>>; ports: Informer<Port>; instances: Informer<Instance>; images: Informer<Image> };
  /** Container (runc) and VM (QEMU) drivers, state under `<stateDir>/runtime`. */
  readonly runtime: CompositeRuntimeDriver;
  readonly images: ImageCache;
  readonly instances: InstanceManager;
  private readonly instanceMetrics: InstanceMetrics;
  private readonly events: AgentEvents;
  private readonly probes: ProbeManager;
  private desired?: DesiredHost;
  private lastReport?: SyncReport;
  private dirty = true;
  /** Something the dataplane derives from changed (hosts, networks, subnets, ports), or a resync is due. */
  private dataplaneDirty = true;
  /** The next pass reads the kernel even if the desired dataplane is what the last clean sync made. */
  private readKernel = true;
  /** The desired dataplane the last sync without errors converged to (JSON). */
  private converged?: string;
  private syncsSkipped = 0;
  private wake?: () => void;
  private passes = 0;
  private instanceOnlyPasses = 0;
  private readonly servedDhcp = new Set<string>();
  private lastError?: { stage: string; message: string; at: string };
  private vtepMissingSince?: number;
  private lastDnsObserve = 0;
  private readonly recentSyncs: { at: string; durationMs: number; writes: number; phasesMs: SyncReport["phasesMs"]; driftRepairs: number }[] = [];
  private republishedTotal = 0;

  constructor(private readonly client: KumoClient, private readonly o: AgentOptions, private readonly log: Logger) {
    // dnsmasq keeps root: it otherwise drops to "nobody" and re-reads its files as that user, which fails
    // whenever any parent of the state dir is private (KUMO_HOME made by mkdtemp, a 0700 home).
    this.dnsmasq = new DnsmasqDriver({ stateDir: `${o.stateDir}/dnsmasq`, user: "root" });
    this.events = new AgentEvents(client, o.identity.name);
    const onChange = { add: () => this.kick(), update: () => this.kick(), delete: () => this.kick() };
    // Instances and images do not enter the dataplane (computeDesired reads hosts, networks, subnets and
    // ports): their events only need the instance stage, not a re-read of the kernel's tables first.
    const onInstanceChange = { add: () => this.kick("instances"), update: () => this.kick("instances"), delete: () => this.kick("instances") };
    const onError = (e: unknown) => this.log.warn({ err: String(e) }, "informer error");
    this.informers = {
      hosts: new Informer<Host>(client, HostKind, { onError }),
      networks: new Informer<Network>(client, NetworkKind, { onError }),
      subnets: new Informer<KObject<SubnetSpec>>(client, SubnetKind, { onError }),
      ports: new Informer<Port>(client, PortKind, { onError }),
      instances: new Informer<Instance>(client, InstanceKind, { onError }),
      images: new Informer<Image>(client, ImageKind, { onError }),
    };
    for (const [name, inf] of Object.entries(this.informers)) {
      if (name === "instances" || name === "images") (inf as Informer).addHandler(onInstanceChange);
      else if (name !== "hosts") (inf as Informer).addHandler(onChange);
    }
    // Every agent beats every 2 s; only a peer's VTEP or spec matters to this host's dataplane.
    this.informers.hosts.addHandler({
      add: () => this.kick(),
      delete: () => this.kick(),
      update: (a, b) => {
        if (JSON.stringify(a.metadata.annotations) !== JSON.stringify(b.metadata.annotations) || JSON.stringify(a.spec) !== JSON.stringify(b.spec)) this.kick();
        if (b.metadata.name === this.o.identity.name) this.noticeVtep(b);
      },
    });
    this.probes = new ProbeManager(client, this.events, {
      prefix: o.netnsPrefix,
      stateDir: o.stateDir,
      vniOf: (p) => this.informers.networks.list().find((n) => n.metadata.namespace === p.metadata.namespace && n.metadata.name === p.spec!.network)?.spec?.vni,
      mtuOf: (p) => this.informers.networks.list().find((n) => n.metadata.namespace === p.metadata.namespace && n.metadata.name === p.spec!.network)?.spec?.mtu ?? 1450,
    });
    const rt = runtimeDir(o.stateDir);
    // 5 s stop grace for containers: a PID 1 without a SIGTERM handler (busybox sleep) only goes with SIGKILL.
    this.runtime = new CompositeRuntimeDriver(new RuncDriver({ stateDir: rt, stopGraceMs: 5000 }), new QemuDriver({ stateDir: rt }));
    this.images = new ImageCache({
      dir: o.imageCacheDir ?? join(o.stateDir, "images"),
      fetchBlob: (image, part, signal) => client.request("GET", blobPath(image, part), { accept: "application/octet-stream", signal }),
    });
    this.instanceMetrics = new InstanceMetrics(this.metrics.registry, () => this.instances, this.images);
    this.instances = new InstanceManager({
      self: o.identity.name, netnsPrefix: o.netnsPrefix, stateDir: o.stateDir, client, events: this.events, log,
      runtime: this.runtime, images: this.images,
      dataplane: agentDataplane({ desired: () => this.desired, network: this.network, dnsmasq: this.dnsmasq, dnsmasqStateDir: `${o.stateDir}/dnsmasq` }),
      view: () => ({ instances: this.informers.instances.list(), images: this.informers.images.list(), ports: this.informers.ports.list(), networks: this.informers.networks.list() }),
      onProgress: () => this.kick("instances"),
      onStep: (kind, step, ms) => this.instanceMetrics.observeStep(kind, step, ms),
    });
  }

  private kick(scope: "all" | "instances" | "resync" = "all"): void {
    this.dirty = true;
    if (scope !== "instances") this.dataplaneDirty = true;
    if (scope === "resync") this.readKernel = true;
    this.wake?.();
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const id = this.o.identity;
    setMaxListeners(64, signal); // four informers and their watches all listen on this one signal
    await retry(() => registerHost(this.client, id), signal, this.log, "register");
    this.log.info({ host: id.name, vtep: id.underlayIP }, "host registered");
    for (const inf of Object.values(this.informers)) void (inf as Informer).run(signal);
    await Promise.all(Object.values(this.informers).map((i) => (i as Informer).waitForSync(signal)));
    const timers = [
      setInterval(() => void this.beat(), this.o.heartbeatMs ?? 2000),
      setInterval(() => this.kick("resync"), this.o.resyncMs ?? 5000),
      setInterval(() => void this.republishIfDue(), 1000),
    ];
    void this.beat();
    signal.addEventListener("abort", () => this.wake?.());
    try {
      while (!signal.aborted) {
        if (!this.dirty) await new Promise<void>((r) => { this.wake = r; });
        if (signal.aborted) break;
        this.dirty = false;
        await new Promise((r) => setTimeout(r, 5)); // coalesce a burst of watch events into one pass
        const full = this.dataplaneDirty;
        this.dataplaneDirty = false;
        if (full) await this.reconcile();
        else await this.reconcileInstances();
      }
    } finally {
      timers.forEach(clearInterval);
    }
  }

  /**
   * Someone removed or changed our VTEP annotations. We put them back, but only after `republishMs`
   * and with a Warning event: re-asserting at once would turn a bad writer into a silent write war.
   */
  private noticeVtep(self: Host): void {
    const ok = self.metadata.annotations?.[VTEP_IP_ANNOTATION] === this.o.identity.underlayIP;
    if (ok) {
      this.vtepMissingSince = undefined;
      return;
    }
    if (this.vtepMissingSince !== undefined) return;
    this.vtepMissingSince = Date.now();
    const after = Math.round((this.o.republishMs ?? 30_000) / 1000);
    void this.events.record(self, "Warning", "VtepAnnotationsRemoved", `${VTEP_IP_ANNOTATION} was removed or changed by another writer; peers drop this host from the overlay until the agent re-publishes it in ${after}s (see kumo history host/${self.metadata.name})`);
    this.log.warn({ republishInSeconds: after }, "VTEP annotations removed by another writer");
  }

  private async republishIfDue(): Promise<void> {
    if (this.vtepMissingSince === undefined || Date.now() - this.vtepMissingSince < (this.o.republishMs ?? 30_000)) return;
    try {
      const h = await publishVtep(this.client, this.o.identity);
      this.vtepMissingSince = undefined;
      this.republishedTotal++;
      await this.events.record(h, "Normal", "VtepAnnotationsRepublished", "the agent re-published its VTEP annotations; peers re-add this host to the overlay");
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, "re-publishing the VTEP annotations failed");
    }
  }

  /** A pass for instance or image changes only: the dataplane (and so `this.desired`) is as the last full pass left it. */
  private async reconcileInstances(): Promise<void> {
    this.instanceOnlyPasses++;
    await this.stage("instances", () => this.instances.sync());
  }

  /** One pass: desired state from the caches, then each driver converges. */
  async reconcile(): Promise<void> {
    this.passes++;
    const id = this.o.identity;
    const d = computeDesired({
      self: id.name, localVtep: id.underlayIP, underlayDev: this.o.underlayDev,
      hosts: this.informers.hosts.list(), networks: this.informers.networks.list(), subnets: this.informers.subnets.list(), ports: this.informers.ports.list(),
    });
    this.desired = d;
    this.metrics.problems.reset();
    for (const p of d.problems) this.metrics.problems.labels(p.reason).inc();
    await this.stage("dhcp-port", () => this.ensureDhcpPorts(d));
    await this.stage("sync", async () => {
      // An event that leaves this host's dataplane as it was (a port on another network, a peer
      // without its VTEP yet) needs no kernel read; drift nobody announced waits for the resync.
      const want = JSON.stringify(d.dataplane);
      const readKernel = this.readKernel;
      this.readKernel = false;
      if (!readKernel && want === this.converged) {
        this.syncsSkipped++;
        this.metrics.syncs.labels("skipped").inc();
        return;
      }
      this.converged = undefined;
      const report = await this.network.sync(d.dataplane);
      if (report.errors.length === 0) this.converged = want;
      this.lastReport = report;
      this.recentSyncs.push({ at: report.startedAt, durationMs: report.durationMs, writes: report.writes, phasesMs: report.phasesMs, driftRepairs: report.driftRepairs });
      if (this.recentSyncs.length > 20) this.recentSyncs.shift();
      this.metrics.observeSync(report);
      if (report.driftRepairs > 0) {
        const host = this.informers.hosts.get(id.name);
        if (host) void this.events.record(host, "Warning", "DriftRepaired", `restored ${report.driftRepairs} dataplane entr${report.driftRepairs === 1 ? "y" : "ies"} that had vanished from the kernel`);
        this.log.warn({ repairs: report.driftRepairs }, "dataplane drift repaired");
      }
    });
    await this.stage("dhcp", async () => {
      const want = new Set(d.dhcp.map((c) => c.network));
      let changed = false;
      for (const c of d.dhcp) changed = (await this.dnsmasq.ensure(c)) !== "unchanged" || changed;
      for (const n of [...this.servedDhcp]) {
        if (want.has(n)) continue;
        await this.dnsmasq.remove(n);
        changed = true;
      }
      this.servedDhcp.clear();
      want.forEach((n) => this.servedDhcp.add(n));
      // Reading leases and logs is for metrics and status: after a change (instances wait for "running"),
      // otherwise at most every 2 s, so a burst of peer events does not re-read every log.
      if (changed || Date.now() - this.lastDnsObserve > 2000) {
        this.lastDnsObserve = Date.now();
        await this.dnsmasq.observe();
      }
    });
    await this.stage("probe", () => this.probes.sync(d.probes));
    await this.stage("instances", () => this.instances.sync());
    await this.stage("status", () => this.markDhcpPorts(d));
    this.metrics.probes.set(this.probes.snapshot().plugged.length);
  }

  private async stage(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.metrics.reconcileErrors.labels(name).inc();
      this.lastError = { stage: name, message: (e as Error).message, at: new Date().toISOString() };
      this.log.warn({ stage: name, err: (e as Error).message }, "reconcile stage failed");
      setTimeout(() => this.kick("resync"), 1000);
    }
  }

  private async ensureDhcpPorts(d: DesiredHost): Promise<void> {
    const self = this.o.identity.name;
    for (const m of d.missingDhcpPorts) {
      await this.client.create<Port>(PortKind, {
        apiVersion: "network.kumo.dev/v1", kind: "Port",
        metadata: { name: dhcpPortName(m.network, self), namespace: m.namespace, labels: { "network.kumo.dev/host": self } },
        spec: { network: m.network, hostBinding: self, deviceOwner: DHCP_OWNER },
      }, { fieldManager: AGENT_MANAGER }).catch((e) => {
        if ((e as { reason?: string }).reason !== "AlreadyExists") throw e;
      });
    }
    // DHCP ports of networks that no longer have workload ports here give their address back.
    const localNets = new Set(d.dataplane.networks.map((n) => n.name));
    for (const p of this.informers.ports.list()) {
      if (p.spec!.deviceOwner !== DHCP_OWNER || p.spec!.hostBinding !== self) continue;
      if (localNets.has(`${p.metadata.namespace}.${p.spec!.network}`)) continue;
      await this.client.delete(PortKind, p.metadata.namespace, p.metadata.name!).catch((e) => { if (!isNotFound(e)) throw e; });
    }
  }

  /** DHCP ports are Active once their network's dnsmasq runs (their "device" is the bridge). */
  private async markDhcpPorts(d: DesiredHost): Promise<void> {
    const running = this.dnsmasq.snapshot().networks;
    for (const p of this.informers.ports.list()) {
      if (p.spec!.deviceOwner !== DHCP_OWNER || p.spec!.hostBinding !== this.o.identity.name) continue;
      const net = d.dataplane.networks.find((n) => n.name === `${p.metadata.namespace}.${p.spec!.network}`);
      const dhcpName = `${p.metadata.namespace}.${p.spec!.network}`.replace(/\./g, "_");
      const phase = net && running[dhcpName]?.running ? "Active" : "Bound";
      if (p.status?.phase === phase && p.status.device === net?.bridge) continue;
      await this.client.patch(PortKind, p.metadata.namespace, p.metadata.name!, "merge", { status: { phase, device: net?.bridge } }, { subresource: "status", fieldManager: AGENT_MANAGER });
    }
  }

  private async beat(): Promise<void> {
    const r = this.lastReport;
    const snap = this.network.snapshot();
    const entries: Record<string, { desired: number; actual: number }> = {};
    for (const n of Object.values(snap.networks)) {
      for (const [k, c] of Object.entries(n.kinds)) {
        const e = (entries[k] ??= { desired: 0, actual: 0 });
        e.desired += c.desired;
        e.actual += c.actual;
      }
    }
    const dataplane = {
      lastSyncTime: snap.lastSync?.at,
      syncDurationMs: r?.durationMs,
      driftRepairsTotal: snap.driftRepairsTotal,
      networks: Object.keys(snap.networks).length,
      entries,
      problems: (this.desired?.problems ?? []).slice(0, 20),
    };
    try {
      await heartbeat(this.client, this.o.identity, { dataplane });
      this.metrics.heartbeats.labels("ok").inc();
    } catch (e) {
      this.metrics.heartbeats.labels("error").inc();
      this.log.warn({ err: (e as Error).message }, "heartbeat failed");
    }
  }

  /** Internal state for /debug/state. */
  debugState() {
    return {
      host: this.o.identity,
      passes: this.passes,
      instanceOnlyPasses: this.instanceOnlyPasses,
      syncsSkipped: this.syncsSkipped,
      vtep: { missingSince: this.vtepMissingSince ? new Date(this.vtepMissingSince).toISOString() : null, republishedTotal: this.republishedTotal },
      lastError: this.lastError,
      desired: this.desired && { networks: this.desired.dataplane.networks, dhcp: this.desired.dhcp.map((c) => ({ network: c.network, hosts: c.hosts.length, dnsRecords: c.dnsRecords?.length ?? 0 })), problems: this.desired.problems, missingDhcpPorts: this.desired.missingDhcpPorts },
      lastSync: this.lastReport,
      recentSyncs: this.recentSyncs,
      network: this.network.snapshot(),
      dnsmasq: this.dnsmasq.snapshot(),
      probes: this.probes.snapshot(),
      instances: this.instances.snapshot(),
      images: this.images.snapshotSync(),
      runtime: this.runtime.snapshot(),
      events: { recorded: this.events.recorded, failed: this.events.failed },
      informers: Object.fromEntries(Object.entries(this.informers).map(([k, i]) => [k, (i as Informer).stats()])),
    };
  }

  /** Refreshes gauges before a scrape. */
  refreshMetrics(): void {
    this.metrics.refresh(this.network.snapshot(), this.dnsmasq.snapshot());
  }

  /** Stops dnsmasq and unplugs probes (used by `kumo down`-style cleanups, not by restarts). */
  async teardown(): Promise<void> {
    await this.probes.unplugAll();
    await this.dnsmasq.stopAll();
    await this.network.sync({ networks: [] });
  }
}

async function retry<T>(fn: () => Promise<T>, signal: AbortSignal, log: Logger, what: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (signal.aborted) throw e;
      log.warn({ attempt, err: (e as Error).message }, `${what} failed; retrying`);
      await new Promise((r) => setTimeout(r, Math.min(5000, 200 * 2 ** attempt)));
    }
  }
}
