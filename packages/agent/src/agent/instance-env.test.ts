// NetworkReady's view of the host dataplane: not ready until the bridge is programmed AND this host's
// DHCP port exists AND its dnsmasq runs AND serves the port's MAC (a DHCP client started earlier only
// gets "no address available" and retries a second later).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DnsmasqDriver } from "../dhcp/dnsmasq.js";
import type { LinuxNetworkDriver } from "../network/linux-driver.js";
import type { DesiredHost } from "./desired.js";
import { agentDataplane } from "./instance-env.js";

const net = { name: "default.net1", vni: 7, mtu: 1450, bridge: "kbr-7", vxlan: "kvx-7", localVtep: "10.0.0.2", underlayDev: "eth0", addresses: [], floodPeers: [], fdb: [], neighbours: [] };

function env(o: { desired?: Partial<DesiredHost>; bridge?: number; dnsmasq?: boolean }) {
  const desired = { dataplane: { networks: [net] }, dhcp: [{ network: "default_net1", hosts: [{ mac: "02:00:00:00:00:01", ip: "10.0.0.5", name: "web" }] }], missingDhcpPorts: [], probes: [], problems: [], ...o.desired } as unknown as DesiredHost;
  const network = { snapshot: () => ({ networks: o.bridge === undefined ? {} : { "default.net1": { kinds: { bridge: { desired: 1, actual: o.bridge, driftRepairsTotal: 0 } } } } }) } as unknown as LinuxNetworkDriver;
  const dnsmasq = { snapshot: () => ({ networks: o.dnsmasq === undefined ? {} : { default_net1: { running: o.dnsmasq } } }) } as unknown as DnsmasqDriver;
  return agentDataplane({ desired: () => desired, network, dnsmasq, dnsmasqStateDir: "/nonexistent" });
}

describe("agentDataplane.networkState", () => {
  it("walks bridge → DHCP port → dnsmasq before saying ready", () => {
    assert.equal(env({ desired: { dataplane: { networks: [] }, problems: [{ network: "default/net1", reason: "NotReady", message: "network has no subnet" }] } }).networkState("default", "net1").reason, "NotReady");
    assert.equal(env({ bridge: 0 }).networkState("default", "net1").reason, "BridgeMissing");
    assert.equal(env({ bridge: 1, desired: { missingDhcpPorts: [{ namespace: "default", network: "net1" }] } }).networkState("default", "net1").reason, "DhcpNotReady");
    assert.equal(env({ bridge: 1, dnsmasq: false }).networkState("default", "net1").reason, "DhcpNotRunning");
    assert.equal(env({ bridge: 1, dnsmasq: true }).networkState("default", "net1", "02:00:00:00:00:99").reason, "DhcpHostPending");
    const ok = env({ bridge: 1, dnsmasq: true }).networkState("default", "net1", "02:00:00:00:00:01");
    assert.deepEqual([ok.ready, ok.bridge, ok.mtu], [true, "kbr-7", 1450]);
  });

  it("reads leases of a network that has none as empty", async () => {
    assert.deepEqual(await env({}).leases("default", "net1"), []);
  });
});
