import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "@kumo/api";
import { buildTopology } from "./topology.js";

const ready = { conditions: [{ type: "Ready", status: "True" }] };
function host(
  name: string,
  o: { vtep?: boolean; ready?: boolean; problems?: { network: string; reason: string; message: string }[] } = {},
): KObject {
  return {
    apiVersion: "infra.kumo.dev/v1",
    kind: "Host",
    metadata: { name, annotations: o.vtep === false ? {} : { "network.kumo.dev/vtep-ip": `10.0.0.${name.slice(1)}` } },
    status: {
      ...(o.ready === false ? { conditions: [{ type: "Ready", status: "False" }] } : ready),
      dataplane: { problems: o.problems ?? [] },
    },
  };
}
const net = (name: string, vni: number): KObject => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Network",
  metadata: { name, namespace: "p" },
  spec: { vni },
});
const port = (name: string, network: string, host?: string, owner?: string): KObject => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Port",
  metadata: { name, namespace: "p" },
  spec: { network, hostBinding: host, deviceOwner: owner, fixedIPs: [{ subnet: "s", ipAddress: "10.1.0.5" }] },
});
const inst = (name: string, network: string, h?: string): KObject => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Instance",
  metadata: { name, namespace: "p" },
  spec: { kind: "container", image: "i", networks: [{ network }] },
  status: h ? { phase: "Running", host: h } : undefined,
});

test("a network spanning hosts gets one tunnel per host pair; healthy hosts give healthy tunnels", () => {
  const t = buildTopology(
    [host("h1"), host("h2"), host("h3")],
    [net("a", 7)],
    [port("p1", "a", "h3")],
    [inst("i1", "a", "h1"), inst("i2", "a", "h2")],
  );
  assert.deepEqual(t.networks, [{ key: "p/a", name: "a", vni: 7, hosts: ["h1", "h2", "h3"] }]);
  assert.deepEqual(
    t.tunnels.map((x) => `${x.a}-${x.b}:${x.broken}`),
    ["h1-h2:false", "h1-h3:false", "h2-h3:false"],
  );
  assert.equal(t.endpoints.length, 3);
});

test("a host without a VTEP, not Ready, or reporting a problem for the network breaks its tunnels", () => {
  const t = buildTopology(
    [
      host("h1"),
      host("h2", { vtep: false }),
      host("h3", { problems: [{ network: "b", reason: "MissingUnderlay", message: "no route to 10.0.0.1" }] }),
      host("h4", { ready: false }),
    ],
    [net("a", 1), net("b", 2)],
    [port("pa1", "a", "h1"), port("pa2", "a", "h2"), port("pb1", "b", "h1"), port("pb3", "b", "h3"), port("pc3", "a", "h3")],
    [],
  );
  const get = (n: string, a: string, b: string) => t.tunnels.find((x) => x.network === n && x.a === a && x.b === b)!;
  assert.equal(get("p/a", "h1", "h2").broken, true);
  assert.match(get("p/a", "h1", "h2").reason!, /h2: no network.kumo.dev\/vtep-ip annotation/);
  assert.equal(get("p/a", "h1", "h3").broken, false, "h3's problem is on network b, not a");
  assert.equal(get("p/b", "h1", "h3").broken, true);
  assert.match(get("p/b", "h1", "h3").reason!, /MissingUnderlay: no route/);
  assert.deepEqual(t.hosts.find((h) => h.name === "h4")!.problems, ["not Ready"]);
});

test("instance-owned ports fold into their instance; unbound endpoints carry no tunnel", () => {
  const t = buildTopology(
    [host("h1"), host("h2")],
    [net("a", 1)],
    [port("i1-a", "a", "h1", "instance:i1")],
    [inst("i1", "a"), inst("i2", "a")],
  );
  assert.deepEqual(
    t.endpoints.map((e) => e.key),
    ["instance:p/i1", "instance:p/i2"],
  );
  assert.deepEqual(t.networks[0].hosts, ["h1"], "the bound port says h1 carries the network");
  assert.deepEqual(t.tunnels, []);
});
