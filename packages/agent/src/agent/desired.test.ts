/** computeDesired: l2population from API objects, and the problems it reports. */
import { it } from "node:test";
import assert from "node:assert/strict";
import type { Host, KObject, Network, Port, SubnetSpec } from "@kumo/api";
import { DHCP_OWNER, computeDesired } from "./desired.js";

const host = (name: string, vtep?: string): Host => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name, annotations: vtep ? { "network.kumo.dev/vtep-ip": vtep } : {} },
});
const net: Network = {
  apiVersion: "network.kumo.dev/v1",
  kind: "Network",
  metadata: { name: "blue", namespace: "p1" },
  spec: { vni: 100, mtu: 1450 },
};
const subnet: KObject<SubnetSpec> = {
  apiVersion: "network.kumo.dev/v1",
  kind: "Subnet",
  metadata: { name: "blue-v4", namespace: "p1" },
  spec: { network: "blue", cidr: "10.0.0.0/24", gateway: "10.0.0.1" },
};
const port = (name: string, hostBinding: string | undefined, n: number, extra: Partial<Port["spec"]> = {}): Port => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Port",
  metadata: { name, namespace: "p1", uid: name },
  spec: {
    network: "blue",
    hostBinding,
    macAddress: `02:00:00:00:00:${n.toString(16).padStart(2, "0")}`,
    fixedIPs: [{ subnet: "blue-v4", ipAddress: `10.0.0.${n}` }],
    ...extra,
  },
});

const view = (ports: Port[], hosts = [host("h1", "192.168.0.1"), host("h2", "192.168.0.2"), host("h3", "192.168.0.3")]) =>
  computeDesired({ self: "h1", localVtep: "192.168.0.1", underlayDev: "eth0", hosts, networks: [net], subnets: [subnet], ports });

it("programs a network only where it has local workload ports, with one flood entry per remote VTEP", () => {
  assert.equal(view([port("a", "h2", 10)]).dataplane.networks.length, 0, "no local port: nothing here");
  const d = view([
    port("local", "h1", 10),
    port("dhcp-h1", "h1", 2, { deviceOwner: DHCP_OWNER }),
    port("r1", "h2", 11),
    port("r2", "h2", 12),
    port("r3", "h3", 13),
  ]);
  const n = d.dataplane.networks[0];
  assert.deepEqual(n.floodPeers, ["192.168.0.2", "192.168.0.3"]);
  assert.deepEqual(n.fdb.map((f) => `${f.mac}>${f.dst}`).sort(), [
    "02:00:00:00:00:0b>192.168.0.2",
    "02:00:00:00:00:0c>192.168.0.2",
    "02:00:00:00:00:0d>192.168.0.3",
  ]);
  assert.deepEqual(n.neighbours.map((x) => x.ip).sort(), ["10.0.0.11", "10.0.0.12", "10.0.0.13"]);
  assert.deepEqual(n.addresses, ["10.0.0.2/24"], "the bridge gets the host's DHCP port address");
  assert.equal(n.bridge, "kbr-100");
  assert.equal(d.dhcp[0].hosts.length, 1, "dnsmasq leases only to local workload ports");
  assert.deepEqual(d.dhcp[0].dnsRecords!.map((r) => r.name).sort(), ["r1", "r2", "r3"], "remote ports resolve by name");
  assert.equal(d.missingDhcpPorts.length, 0);
});

it("asks for a DHCP port when the host has none, and names peers without VTEP annotations as problems", () => {
  const d = view([port("local", "h1", 10), port("r1", "h2", 11)], [host("h1", "192.168.0.1"), host("h2")]);
  assert.deepEqual(d.missingDhcpPorts, [{ namespace: "p1", network: "blue" }]);
  assert.equal(d.dataplane.networks[0].fdb.length, 0);
  assert.equal(d.problems[0].reason, "PeerWithoutVtep");
  assert.match(d.problems[0].message, /h2/);
});

it("lists plugged local ports as probes and ignores ports being deleted", () => {
  const gone = {
    ...port("gone", "h1", 20, { plugged: true }),
    metadata: { name: "gone", namespace: "p1", uid: "gone", deletionTimestamp: "2026-01-01T00:00:00Z" },
  };
  const d = view([port("probe", "h1", 10, { plugged: true }), gone]);
  assert.deepEqual(
    d.probes.map((p) => p.metadata.name),
    ["probe"],
  );
});
