/**
 * `kumo agent`: one per host. Registers the Host, then runs its loops on the one reconcile runtime, each a
 * component the process starts in order and stops in reverse: the informers (hosts, networks, subnets, ports,
 * instances, images), `heartbeat`, `vtep-republish`, `network` (the overlay: bridge, VXLAN, FDB, neighbours),
 * `dhcp` (per network: dnsmasq, probes, DHCP port status) and `instances` (per instance). Level-triggered:
 * every pass computes the whole desired state; events only decide when passes run, and resyncs repair drift
 * nobody announced (an FDB entry deleted by hand). The drivers come from the caller (main.ts: Linux,
 * dnsmasq, runc + QEMU; tests: fakes), so when passes run is tested without root.
 */
import { join } from "node:path";
import type { KumoClient } from "@kumo/client";
import { type Component, type Logger, component, retry } from "@kumo/runtime";
import type { DhcpDriver } from "../dhcp/types.js";
import type { NetworkDriver } from "../network/types.js";
import type { HostRuntimeDriver } from "../runtime/types.js";
import { DhcpLoop } from "./dhcp-loop.js";
import { AgentEvents } from "./events.js";
import { heartbeatLoop, VtepLoop } from "./host-loops.js";
import { ImageCache, blobPath } from "./image-cache.js";
import { type AgentCaches, agentCaches, cachesComponent } from "./informers.js";
import { type NetOps, agentDataplane } from "./instance-env.js";
import { InstanceMetrics } from "./instance-metrics.js";
import { type ImageStore, InstanceManager } from "./instances.js";
import { AgentMetrics } from "./metrics.js";
import { NetworkLoop } from "./network-loop.js";
import { ProbeManager } from "./probes.js";
import { type HostIdentity, registerHost } from "./registration.js";

/** Agent settings. */
export interface AgentOptions {
  identity: HostIdentity;
  underlayDev: string;
  stateDir: string;
  /** Prefix of probe namespaces this agent creates (`<prefix>-p-...`). */
  netnsPrefix: string;
  heartbeatMs?: number;
  resyncMs?: number;
  /** How long the VTEP annotations stay removed before the agent re-publishes them. */
  republishMs?: number;
  /** Image blob cache (default `<stateDir>/images`); agents on one machine may share it. */
  imageCacheDir?: string;
  /** Concurrent instance passes (default 64). */
  instanceWorkers?: number;
  /** How long a VM may take from its start to lease its address (default 180 s). */
  leaseWaitMs?: number;
}

/** The drivers the agent converges the host with. */
export interface AgentDrivers {
  network: NetworkDriver;
  dhcp: DhcpDriver;
  /** Containers and VMs. */
  runtime: HostRuntimeDriver;
  /** Netns plumbing of container ports (default: iproute2 and a DHCP client). */
  net?: NetOps;
  /** Image blobs (default: an ImageCache under imageCacheDir that downloads from the API). */
  images?: ImageStore;
}

/** The host agent. */
export class HostAgent {
  readonly metrics = new AgentMetrics();
  readonly network: NetworkDriver;
  readonly dhcp: DhcpDriver;
  readonly runtime: HostRuntimeDriver;
  readonly images: ImageStore;
  readonly caches: AgentCaches;
  readonly instances: InstanceManager;
  readonly networkLoop: NetworkLoop;
  readonly dhcpLoop: DhcpLoop;
  readonly vtep: VtepLoop;
  private readonly events: AgentEvents;
  private readonly probes: ProbeManager;
  private readonly parts: Component[];

  constructor(
    private readonly client: KumoClient,
    private readonly o: AgentOptions,
    drivers: AgentDrivers,
    private readonly log: Logger,
  ) {
    ({ network: this.network, dhcp: this.dhcp, runtime: this.runtime } = drivers);
    const self = o.identity.name;
    this.events = new AgentEvents(client, self);
    this.caches = agentCaches(client, log);
    const networkOf = (ns: string | undefined, name: string) => this.caches.networks.get(`${ns}/${name}`);
    this.probes = new ProbeManager(client, this.events, {
      prefix: o.netnsPrefix,
      stateDir: o.stateDir,
      vniOf: (p) => networkOf(p.metadata.namespace, p.spec!.network)?.spec?.vni,
      mtuOf: (p) => networkOf(p.metadata.namespace, p.spec!.network)?.spec?.mtu ?? 1450,
    });
    this.images =
      drivers.images ??
      new ImageCache({
        dir: o.imageCacheDir ?? join(o.stateDir, "images"),
        fetchBlob: (image, part, signal) => client.request("GET", blobPath(image, part), { accept: "application/octet-stream", signal }),
      });
    const resyncMs = o.resyncMs ?? 5000;
    // network → (each pass) dhcp per network → (each reconcile) instances: a network's instances start once its DHCP serves them.
    this.networkLoop = new NetworkLoop({
      identity: o.identity,
      underlayDev: o.underlayDev,
      client,
      caches: this.caches,
      driver: this.network,
      probes: this.probes,
      metrics: this.metrics,
      events: this.events,
      log,
      resyncMs,
      onPass: (d) => this.dhcpLoop.enqueueAll(d),
    });
    this.dhcpLoop = new DhcpLoop({
      self,
      client,
      caches: this.caches,
      driver: this.dhcp,
      probes: this.probes,
      metrics: this.metrics,
      log,
      desired: () => this.networkLoop.desired,
      onReconciled: () => this.instances.enqueueAll(),
    });
    const instanceMetrics = new InstanceMetrics(this.metrics.registry, () => this.instances, this.images);
    this.instances = new InstanceManager({
      self,
      netnsPrefix: o.netnsPrefix,
      stateDir: o.stateDir,
      client,
      events: this.events,
      log,
      runtime: this.runtime,
      images: this.images,
      caches: this.caches,
      net: drivers.net,
      workers: o.instanceWorkers,
      resyncMs,
      leaseWaitMs: o.leaseWaitMs,
      dataplane: agentDataplane({
        desired: () => this.networkLoop.desired,
        network: this.network,
        dhcp: this.dhcp,
        served: (n) => this.dhcpLoop.applied.get(n),
      }),
      onStep: (kind, step, ms) => instanceMetrics.observeStep(kind, step, ms),
    });
    this.vtep = new VtepLoop({ client, identity: o.identity, caches: this.caches, events: this.events, republishMs: o.republishMs, log });
    const beat = heartbeatLoop({
      client,
      identity: o.identity,
      everyMs: o.heartbeatMs ?? 2000,
      network: this.network,
      metrics: this.metrics,
      log,
      lastReport: () => this.networkLoop.lastReport,
      desired: () => this.networkLoop.desired,
    });
    this.parts = [
      component("register", {
        start: async (signal) => {
          await retry("register host", () => registerHost(client, o.identity), { signal, log });
          log.info({ host: self, vtep: o.identity.underlayIP }, "host registered");
        },
      }),
      cachesComponent(this.caches),
      beat,
      this.vtep.controller,
      this.networkLoop.controller,
      this.dhcpLoop.controller,
      this.instances.controller,
    ];
  }

  /** What the process starts, in order: registration, the informers, then each loop (stopped in reverse). */
  components(): Component[] {
    return [...this.parts];
  }

  /** Internal state for /debug/state (besides each component's own, which the component manager adds). */
  debugState() {
    const n = this.networkLoop;
    const d = n.desired;
    return {
      host: this.o.identity,
      passes: n.passes,
      syncsSkipped: n.syncsSkipped,
      vtep: this.vtep.state(),
      lastError: n.lastError,
      desired: d && {
        networks: d.dataplane.networks,
        dhcp: d.dhcp.map((c) => ({ network: c.network, hosts: c.hosts.length, dnsRecords: c.dnsRecords?.length ?? 0 })),
        problems: d.problems,
        missingDhcpPorts: d.missingDhcpPorts,
      },
      lastSync: n.lastReport,
      recentSyncs: n.recentSyncs,
      network: this.network.snapshot(),
      dnsmasq: this.dhcp.snapshot(),
      probes: this.probes.snapshot(),
      instances: this.instances.snapshot(),
      images: this.images.snapshotSync(),
      runtime: this.runtime.snapshot(),
      events: { recorded: this.events.recorded, failed: this.events.failed },
    };
  }

  /** Refreshes gauges before a scrape. */
  refreshMetrics(): void {
    this.metrics.refresh(this.network.snapshot(), this.dhcp.snapshot());
  }

  /** Stops dnsmasq and unplugs probes (used by `kumo down`-style cleanups, not by restarts). */
  async teardown(): Promise<void> {
    await this.probes.unplugAll();
    await this.dhcp.stopAll();
    await this.network.sync({ networks: [] });
  }
}
