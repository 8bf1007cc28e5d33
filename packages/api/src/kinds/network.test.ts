import { test } from "node:test";
import assert from "node:assert/strict";
import type { KindDefinition } from "../kind.js";
import type { KObject } from "../meta.js";
import { validateObject } from "../validation.js";
import { NetworkKind, PortKind, SubnetKind, type Network, type Port, type Subnet } from "./network.js";

/** What the store does on a write: defaults, then schema and semantic validation. */
function admit(kind: KindDefinition, obj: KObject, old?: KObject) {
  kind.defaults?.(obj);
  return validateObject(obj, kind, old);
}
const fields = (causes: { field?: string }[]) => causes.map((c) => c.field);
const net = (spec?: Network["spec"]): Network => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Network",
  metadata: { name: "n1", namespace: "p" },
  spec,
});
const subnet = (spec: Partial<NonNullable<Subnet["spec"]>>): Subnet => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Subnet",
  metadata: { name: "s1", namespace: "p" },
  spec: { network: "n1", cidr: "10.0.0.0/24", ...spec },
});
const port = (spec: Partial<NonNullable<Port["spec"]>>, status?: Port["status"]): Port => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Port",
  metadata: { name: "p1", namespace: "p" },
  spec: { network: "n1", ...spec },
  status,
});

test("Network: defaults give a spec and the largest MTU VXLAN allows", () => {
  const n = net();
  assert.deepEqual(admit(NetworkKind, n), []);
  assert.deepEqual(n.spec, { mtu: 1450 });
  const given = net({ mtu: 1400, vni: 7 });
  assert.deepEqual(admit(NetworkKind, given), []);
  assert.deepEqual(given.spec, { mtu: 1400, vni: 7 });
});

test("Network: an MTU above the underlay's minus VXLAN overhead, or out of range, is refused on spec.mtu", () => {
  assert.deepEqual(admit(NetworkKind, net({ mtu: 1451 })), [
    {
      field: "spec.mtu",
      message: "must be at most 1450 (underlay MTU 1500 minus 50 bytes of VXLAN overhead)",
      reason: "FieldValueInvalid",
    },
  ]);
  assert.deepEqual(fields(admit(NetworkKind, net({ mtu: 575 }))), ["spec.mtu"]);
  assert.deepEqual(fields(admit(NetworkKind, net({ mtu: 1000.5 }))), ["spec.mtu"]);
});

test("Network: the VNI is 24 bits and fixed once set", () => {
  assert.deepEqual(fields(admit(NetworkKind, net({ vni: 0 }))), ["spec.vni"]);
  assert.deepEqual(fields(admit(NetworkKind, net({ vni: 16_777_216 }))), ["spec.vni"]);
  assert.deepEqual(admit(NetworkKind, net({ vni: 16_777_215 })), []);
  assert.deepEqual(admit(NetworkKind, net({ vni: 8 }), net({ vni: 7 })), [
    { field: "spec.vni", message: "field is immutable (was 7)", reason: "FieldValueInvalid" },
  ]);
  assert.deepEqual(admit(NetworkKind, net({ vni: 8 }), net({})), [], "the server may fill in a VNI the user left out");
  assert.deepEqual(fields(admit(NetworkKind, { ...net({}), spec: { colour: "blue" } })), ["spec.colour"]);
});

test("Network: columns show VNI and MTU", () => {
  assert.deepEqual(
    NetworkKind.columns.map((c) => c.value(net({ vni: 5, mtu: 1400 }))),
    [5, 1400],
  );
});

test("Subnet: defaults turn DHCP on, take the first address as gateway and the rest as the pool", () => {
  const s = subnet({});
  assert.deepEqual(admit(SubnetKind, s), []);
  assert.deepEqual(s.spec, {
    network: "n1",
    cidr: "10.0.0.0/24",
    enableDhcp: true,
    gateway: "10.0.0.1",
    allocationPools: [{ start: "10.0.0.2", end: "10.0.0.254" }],
  });
  const own = subnet({ enableDhcp: false, gateway: "10.0.0.254", allocationPools: [{ start: "10.0.0.10", end: "10.0.0.20" }] });
  admit(SubnetKind, own);
  assert.deepEqual(
    [own.spec?.enableDhcp, own.spec?.gateway, own.spec?.allocationPools],
    [false, "10.0.0.254", [{ start: "10.0.0.10", end: "10.0.0.20" }]],
  );
  const bad = subnet({ cidr: "nonsense" });
  SubnetKind.defaults!(bad);
  assert.deepEqual(bad.spec, { network: "n1", cidr: "nonsense" }, "no defaults from a CIDR that does not parse");
});

test("Subnet: the CIDR must parse with zero host bits and be /29 or larger", () => {
  assert.deepEqual(admit(SubnetKind, subnet({ cidr: "10.0.0.1/24" })), [
    { field: "spec.cidr", message: '"10.0.0.1/24" is not an IPv4 CIDR like 10.0.0.0/24', reason: "FieldValueInvalid" },
  ]);
  assert.deepEqual(admit(SubnetKind, subnet({ cidr: "10.0.0.0/30" })), [
    { field: "spec.cidr", message: "prefix must be /29 or larger", reason: "FieldValueInvalid" },
  ]);
  assert.deepEqual(admit(SubnetKind, subnet({ cidr: "10.0.0.0/29" })), []);
  assert.deepEqual(fields(admit(SubnetKind, subnet({ cidr: "1/8" }))), ["spec.cidr"], "shorter than any CIDR: the schema's minLength");
});

test("Subnet: gateway and pools must lie inside the CIDR, pools ascending", () => {
  assert.deepEqual(admit(SubnetKind, subnet({ gateway: "10.1.0.1" })), [
    { field: "spec.gateway", message: "10.1.0.1 is not inside 10.0.0.0/24", reason: "FieldValueInvalid" },
  ]);
  const pools = [
    { start: "10.0.0.2", end: "10.0.0.9" },
    { start: "10.0.0.20", end: "10.0.0.10" },
    { start: "10.0.0.250", end: "10.0.1.5" },
  ];
  assert.deepEqual(
    admit(SubnetKind, subnet({ allocationPools: pools })).map((c) => [c.field, c.message]),
    [
      ["spec.allocationPools[1]", "10.0.0.20-10.0.0.10 must be an ascending range inside 10.0.0.0/24"],
      ["spec.allocationPools[2]", "10.0.0.250-10.0.1.5 must be an ascending range inside 10.0.0.0/24"],
    ],
  );
  assert.deepEqual(fields(admit(SubnetKind, subnet({ gateway: "10.0.0.300", dnsServers: ["x"] }))), ["spec.gateway", "spec.dnsServers[0]"]);
});

test("Subnet: network and CIDR are fixed; a missing network is a schema error", () => {
  const old = subnet({});
  admit(SubnetKind, old);
  assert.deepEqual(admit(SubnetKind, subnet({ cidr: "10.0.1.0/24" }), old), [
    { field: "spec.cidr", message: "cidr and network are immutable", reason: "FieldValueInvalid" },
  ]);
  assert.deepEqual(fields(admit(SubnetKind, subnet({ network: "n2" }), old)), ["spec.cidr"]);
  assert.deepEqual(admit(SubnetKind, subnet({ enableDhcp: false }), old), []);
  assert.deepEqual(fields(admit(SubnetKind, subnet({ network: "" }))), ["spec.network"]);
});

test("Port: MAC, fixed IPs and network are checked by the schema, then fixed once allocated", () => {
  assert.deepEqual(admit(PortKind, port({ macAddress: "fa:16:3e:00:00:01", fixedIPs: [{ subnet: "s1", ipAddress: "10.0.0.5" }] })), []);
  assert.deepEqual(fields(admit(PortKind, port({ macAddress: "FA:16:3E:00:00:01" }))), ["spec.macAddress"]);
  assert.deepEqual(fields(admit(PortKind, port({ fixedIPs: [{ subnet: "s1", ipAddress: "10.0.0" }] }))), ["spec.fixedIPs[0].ipAddress"]);
  assert.deepEqual(fields(admit(PortKind, port({}, { phase: "Up" as "Active" }))), ["status.phase"]);
  const old = port({ macAddress: "fa:16:3e:00:00:01", fixedIPs: [{ subnet: "s1", ipAddress: "10.0.0.5" }] });
  assert.deepEqual(admit(PortKind, port({ network: "n2", macAddress: "fa:16:3e:00:00:02", fixedIPs: [] }), old), [
    { field: "spec.network", message: "field is immutable", reason: "FieldValueInvalid" },
    { field: "spec.macAddress", message: "field is immutable once allocated", reason: "FieldValueInvalid" },
    { field: "spec.fixedIPs", message: "field is immutable once allocated (delete and re-create the port)", reason: "FieldValueInvalid" },
  ]);
  assert.deepEqual(admit(PortKind, port({ macAddress: "fa:16:3e:00:00:01" }), port({})), [], "the server may allocate what was left out");
  assert.deepEqual(admit(PortKind, { ...old, spec: { ...old.spec!, hostBinding: "h1", plugged: true } }, old), []);
});

test("Port: columns show network, addresses, MAC, host, phase (Pending until reported) and owner", () => {
  const p = port({
    fixedIPs: [
      { subnet: "s", ipAddress: "10.0.0.5" },
      { subnet: "s", ipAddress: "10.0.0.6" },
    ],
    macAddress: "m",
    hostBinding: "h1",
    deviceOwner: "probe",
  });
  assert.deepEqual(
    PortKind.columns.map((c) => c.value(p)),
    ["n1", "10.0.0.5,10.0.0.6", "m", "h1", "Pending", "probe"],
  );
  assert.equal(PortKind.columns[4].value(port({}, { phase: "Active" })), "Active");
});
