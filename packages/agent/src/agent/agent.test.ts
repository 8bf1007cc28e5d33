// When the agent's passes run, with fake drivers (no root, no kernel): the real API server in this process,
// the real informers and loops. A peer's change costs one network sync; a burst coalesces; an event that
// leaves the dataplane as it was skips the kernel read while the resync still reads it; one network's bad
// DHCP config fails that network alone. Skipped when packages/server is not built.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Host, HostKind, NetworkKind, type Port, PortKind, SubnetKind, VTEP_IP_ANNOTATION } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { ComponentManager, createNodeFetch } from "@kumo/runtime";
import { pino } from "pino";
import type { DhcpDriver, DhcpNetworkConfig, DnsmasqSnapshot } from "../dhcp/types.js";
import type { HostNetworkState, NetworkDriver, NetworkDriverSnapshot, SyncReport } from "../network/types.js";
import type { HostRuntimeDriver } from "../runtime/types.js";
import { type AgentOptions, HostAgent } from "./agent.js";

interface TestServerLike {
  url: string;
  caCert: string;
  adminToken: string;
  stop(): Promise<void>;
}
const serverModule = "@kumo/server/testing";
type ServerModule = { startTestServer(o?: { scheduler?: boolean }): Promise<TestServerLike> };
const mod = (await import(serverModule).catch(() => undefined)) as ServerModule | undefined;
const skip = mod ? undefined : "packages/server is not built (npx tsc -b packages/server)";

/** A network driver that only remembers what it was asked to converge to; `gate` holds a sync (a slow kernel). */
class FakeNetwork implements NetworkDriver {
  readonly synced: HostNetworkState[] = [];
  gate?: Promise<void>;
  async sync(desired: HostNetworkState): Promise<SyncReport> {
    this.synced.push(structuredClone(desired));
    await this.gate;
    const phasesMs = { observe: 0, diff: 0, apply: 0 };
    const none = { writes: 0, spawns: 0, driftRepairs: 0, failedWrites: 0, errors: [] };
    return { startedAt: new Date().toISOString(), durationMs: 0, phasesMs, networks: [], ...none };
  }
  async observe(): Promise<HostNetworkState> {
    return this.synced.at(-1) ?? { networks: [] };
  }
  snapshot(): NetworkDriverSnapshot {
    const one = { desired: 1, actual: 1, driftRepairsTotal: 0 };
    const kinds = { bridge: one, vxlan: one, address: one, flood: one, fdb: one, neighbour: one, route: one };
    const networks = Object.fromEntries((this.synced.at(-1)?.networks ?? []).map((n) => [n.name, { kinds }]));
    const counts = { syncErrors: 0, writesTotal: 0, writeFailuresTotal: 0, driftRepairsTotal: 0 };
    return { netns: null, syncs: this.synced.length, ...counts, lastSync: null, lastSyncAgeSeconds: null, networks };
  }
}

/** A DHCP driver that "runs" what it ensured, and refuses the networks named in `refuse`. */
class FakeDhcp implements DhcpDriver {
  readonly ensured: string[] = [];
  readonly running = new Map<string, DhcpNetworkConfig>();
  constructor(private readonly refuse: Set<string>) {}
  async ensure(c: DhcpNetworkConfig) {
    this.ensured.push(c.network);
    if (this.refuse.has(c.network)) throw new Error(`dnsmasq: bad config for ${c.network}`);
    const had = this.running.has(c.network);
    this.running.set(c.network, c);
    return had ? ("unchanged" as const) : ("started" as const);
  }
  async remove(network: string) {
    this.running.delete(network);
  }
  async observe() {
    return { networks: [] };
  }
  snapshot(): DnsmasqSnapshot {
    const counters = { discover: 0, offer: 0, request: 0, ack: 0, nak: 0, decline: 0, release: 0, inform: 0, noAddress: 0 };
    const networks = Object.fromEntries([...this.running.keys()].map((n) => [n, { pid: 1, running: true, leases: 0, hosts: 0, counters }]));
    return { totals: { starts: 0, restarts: 0, reloads: 0, adoptions: 0, stops: 0, releases: 0 }, networks };
  }
  async stopAll() {}
  leaseFile(network: string) {
    return `/nonexistent/${network}.leases`;
  }
}

const noRuntime: HostRuntimeDriver = {
  ensure: async () => {
    throw new Error("no instances in this test");
  },
  stop: async () => undefined,
  remove: async () => undefined,
  list: async () => [],
  logs: async () => "",
  snapshot: () => ({}),
  logFile: (id) => `/nonexistent/${id}.log`,
};

describe("HostAgent pass scheduling (in-process API server, fake drivers)", { skip }, () => {
  let s: TestServerLike;
  let client: KumoClient;
  let tmp = "";
  const running: ComponentManager[] = [];

  /** Starts an agent for `name` with fake drivers. */
  async function startAgent(name: string, ip: string, o: Partial<AgentOptions> = {}, refuse: string[] = []) {
    const network = new FakeNetwork();
    const dhcp = new FakeDhcp(new Set(refuse));
    const log = pino({ level: "silent" });
    const agent = new HostAgent(
      client,
      {
        identity: { name, underlayIP: ip },
        underlayDev: "eth0",
        stateDir: join(tmp, name),
        netnsPrefix: `${name}t`,
        resyncMs: 60_000,
        heartbeatMs: 60_000,
        ...o,
      },
      { network, dhcp, runtime: noRuntime },
      log,
    );
    const m = new ComponentManager(agent.metrics.registry, log);
    for (const c of agent.components()) m.add(c);
    await m.start();
    running.push(m);
    return { agent, network, dhcp, m };
  }
  const port = (name: string, host: string, network = "blue"): Port => ({
    apiVersion: "network.kumo.dev/v1",
    kind: "Port",
    metadata: { name, namespace: "default" },
    spec: { network, hostBinding: host, deviceOwner: "test" },
  });
  const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const settle = async (a: HostAgent) => {
    await new Promise((r) => setTimeout(r, 100)); // events in flight reach the informers
    for (const c of [a.networkLoop.controller, a.dhcpLoop.controller]) await c.whenIdle();
  };
  let h1: Awaited<ReturnType<typeof startAgent>>;

  before(async () => {
    s = await mod!.startTestServer({ scheduler: false });
    tmp = await mkdtemp(join(tmpdir(), "kumo-agent-"));
    client = new KumoClient({ server: s.url, token: s.adminToken, fetch: createNodeFetch({ caPem: s.caCert }) });
    const meta = (name: string) => ({ name, namespace: "default" });
    for (const [net, cidr] of [
      ["blue", "10.9.0.0/24"],
      ["red", "10.8.0.0/24"],
    ] as const) {
      await client.create(NetworkKind, { apiVersion: "network.kumo.dev/v1", kind: "Network", metadata: meta(net), spec: {} });
      const spec = { network: net, cidr };
      await client.create(SubnetKind, { apiVersion: "network.kumo.dev/v1", kind: "Subnet", metadata: meta(`${net}-s`), spec });
    }
    const annotations = { [VTEP_IP_ANNOTATION]: "192.0.2.2" };
    const h2 = { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "h2", annotations }, spec: { underlayIP: "192.0.2.2" } };
    await client.create(HostKind, h2);
    await client.create(PortKind, port("pa", "h1"));
    await client.create(PortKind, port("pb", "h2"));
    h1 = await startAgent("h1", "192.0.2.1", {}, ["default_red"]);
    await until("blue's dnsmasq running", () => h1.dhcp.running.has("default_blue"));
    await settle(h1.agent);
  });

  after(async () => {
    for (const m of running.reverse()) await m.stop();
    await s?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("a peer's VTEP change costs one network sync", async () => {
    const before = h1.network.synced.length;
    await client.patch<Host>(HostKind, undefined, "h2", "merge", { metadata: { annotations: { [VTEP_IP_ANNOTATION]: "192.0.2.22" } } });
    await until("the new VTEP programmed", () => h1.network.synced.at(-1)?.networks[0]?.floodPeers.includes("192.0.2.22") ?? false);
    await settle(h1.agent);
    assert.equal(h1.network.synced.length, before + 1);
  });

  it("a burst of 50 port events coalesces into few passes that end with all of them", async () => {
    // Events that arrive while a pass runs (here: a sync held up like a slow kernel read) share the next pass.
    const passes = h1.agent.networkLoop.passes;
    const syncs = h1.network.synced.length;
    let release!: () => void;
    h1.network.gate = new Promise((r) => (release = r));
    await client.create(PortKind, port("burst-0", "h2"));
    await until("the first sync of the burst", () => h1.network.synced.length > syncs);
    await Promise.all(Array.from({ length: 49 }, (_, i) => client.create(PortKind, port(`burst-${i + 1}`, "h2"))));
    await new Promise((r) => setTimeout(r, 100)); // every watch event has reached the informer
    h1.network.gate = undefined;
    release();
    await until("50 more FDB entries", () => (h1.network.synced.at(-1)?.networks[0]?.fdb.length ?? 0) >= 51);
    await settle(h1.agent);
    const n = h1.agent.networkLoop.passes - passes;
    assert.ok(n >= 2 && n <= 3, `${n} passes for 50 events`);
  });

  it("an event that leaves the dataplane as it was skips the kernel read; the resync reads it", async () => {
    const syncs = h1.network.synced.length;
    const { passes, syncsSkipped } = h1.agent.networkLoop;
    await client.patch<Port>(PortKind, "default", "pa", "merge", { metadata: { labels: { touched: "yes" } } });
    await until("a pass", () => h1.agent.networkLoop.passes > passes);
    await settle(h1.agent);
    assert.equal(h1.network.synced.length, syncs, "no sync");
    assert.ok(h1.agent.networkLoop.syncsSkipped > syncsSkipped);
    assert.match(await h1.agent.metrics.registry.metrics(), /kumo_agent_syncs_total\{result="skipped"\} [1-9]/);
    // A second agent with a short resync: its passes re-read the kernel although nothing changed.
    const h3 = await startAgent("h3", "192.0.2.3", { resyncMs: 100 });
    const first = h3.network.synced.length;
    await until("two resyncs", () => h3.network.synced.length >= first + 2, 3000);
  });

  it("a bad DHCP config for network red fails red's key alone; blue is served and its DHCP port is Active", async () => {
    await client.create(PortKind, port("pr", "h1", "red"));
    await until("red's dnsmasq refused", () => "default_red" in h1.agent.dhcpLoop.controller.snapshot().failing);
    const failing = h1.agent.dhcpLoop.controller.snapshot().failing;
    assert.match(failing.default_red.message, /bad config/);
    assert.equal(failing.default_blue, undefined);
    assert.ok(h1.dhcp.running.has("default_blue"));
    await until("blue's DHCP port Active", async () => {
      const ports = (await client.list<Port>(PortKind, "default")).items;
      return ports.some((p) => p.spec!.deviceOwner === "network:dhcp" && p.spec!.network === "blue" && p.status?.phase === "Active");
    });
    assert.match(await h1.agent.metrics.registry.metrics(), /kumo_controller_reconcile_total\{controller="dhcp",result="error"\} [1-9]/);
  });
});
