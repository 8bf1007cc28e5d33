/** network.kumo.dev: overlay networks (VXLAN), subnets with IPAM and DHCP, and ports. */
import { Type, type Static } from "@sinclair/typebox";
import type { StatusCause } from "../errors.js";
import { defineKind } from "../kind.js";
import type { KObject } from "../meta.js";
import { Conditions, Strict } from "./common.js";
import { cidrContains, parseCidr, parseIPv4 } from "../ipv4.js";

/** Largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 16_777_215;
/** The underlay MTU kumo assumes; VXLAN over IPv4 costs 50 bytes. */
export const UNDERLAY_MTU = 1500;

/** Schema of a Network's spec. The VNI is allocated by the server when not given. */
export const NetworkSpecSchema = Strict({
  vni: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_VNI })),
  mtu: Type.Optional(Type.Integer({ minimum: 576, maximum: 9000 })),
  description: Type.Optional(Type.String()),
});
/** Network spec. */
export type NetworkSpec = Static<typeof NetworkSpecSchema>;

/** Schema of a Network's status. */
export const NetworkStatusSchema = Strict({
  vni: Type.Optional(Type.Integer()),
  mtu: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Conditions),
});
/** Network status. */
export type NetworkStatus = Static<typeof NetworkStatusSchema>;

/** A Network object. */
export type Network = KObject<NetworkSpec, NetworkStatus>;

/** An isolated L2 overlay segment (one VXLAN VNI) inside a project. */
export const NetworkKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Network",
  plural: "networks",
  shortNames: ["net"],
  namespaced: true,
  schema: Strict({ spec: Type.Optional(NetworkSpecSchema), status: Type.Optional(NetworkStatusSchema) }),
  columns: [
    { name: "VNI", type: "integer", value: (o) => o.spec?.vni },
    { name: "MTU", type: "integer", value: (o) => o.spec?.mtu },
  ],
  defaults: (o) => {
    const spec = (o.spec ??= {});
    spec.mtu ??= UNDERLAY_MTU - 50;
  },
  validate: (o, old) => {
    const spec = o.spec ?? {};
    const oldSpec = old?.spec;
    if (old && oldSpec?.vni !== undefined && spec.vni !== oldSpec.vni) {
      return [{ field: "spec.vni", message: `field is immutable (was ${oldSpec.vni})`, reason: "FieldValueInvalid" }];
    }
    if (spec.mtu !== undefined && spec.mtu > UNDERLAY_MTU - 50) {
      const message = `must be at most ${UNDERLAY_MTU - 50} (underlay MTU ${UNDERLAY_MTU} minus 50 bytes of VXLAN overhead)`;
      return [{ field: "spec.mtu", message, reason: "FieldValueInvalid" }];
    }
    return [];
  },
});

const IPv4 = Type.String({ format: "ipv4" });

/** Schema of an allocation pool (inclusive range). */
export const AllocationPoolSchema = Strict({ start: IPv4, end: IPv4 });
/** An allocation pool (inclusive range). */
export type AllocationPool = Static<typeof AllocationPoolSchema>;

/** Schema of a Subnet's spec. */
export const SubnetSpecSchema = Strict({
  network: Type.String({ minLength: 1 }),
  cidr: Type.String({ minLength: 9 }),
  gateway: Type.Optional(IPv4),
  allocationPools: Type.Optional(Type.Array(AllocationPoolSchema)),
  enableDhcp: Type.Optional(Type.Boolean()),
  dnsServers: Type.Optional(Type.Array(IPv4)),
});
/** Subnet spec. */
export type SubnetSpec = Static<typeof SubnetSpecSchema>;

/** A Subnet object (it has no status). */
export type Subnet = KObject<SubnetSpec>;

const invalidField = (field: string, message: string): StatusCause => ({ field, message, reason: "FieldValueInvalid" });

/** An IPv4 range on a Network with IPAM pools and DHCP settings. */
export const SubnetKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Subnet",
  plural: "subnets",
  shortNames: ["sn"],
  namespaced: true,
  statusSubresource: false,
  schema: Strict({ spec: SubnetSpecSchema }),
  columns: [
    { name: "Network", type: "string", value: (o) => o.spec?.network },
    { name: "CIDR", type: "string", value: (o) => o.spec?.cidr },
    { name: "Gateway", type: "string", value: (o) => o.spec?.gateway },
    { name: "DHCP", type: "boolean", value: (o) => o.spec?.enableDhcp ?? true },
  ],
  defaults: (o) => {
    const spec = o.spec;
    if (!spec?.cidr) return;
    const c = parseCidr(spec.cidr);
    if (!c) return;
    spec.enableDhcp ??= true;
    spec.gateway ??= c.first;
    spec.allocationPools ??= [{ start: c.nth(2), end: c.last }];
  },
  validate: (o, old) => {
    // The schema requires spec, and validate only sees objects the schema accepted.
    const spec = o.spec!;
    const c = parseCidr(spec.cidr);
    if (!c) return [invalidField("spec.cidr", `"${spec.cidr}" is not an IPv4 CIDR like 10.0.0.0/24`)];
    if (c.prefix > 29) return [invalidField("spec.cidr", "prefix must be /29 or larger")];
    const causes: StatusCause[] = [];
    if (spec.gateway && !cidrContains(c, spec.gateway)) {
      causes.push(invalidField("spec.gateway", `${spec.gateway} is not inside ${spec.cidr}`));
    }
    (spec.allocationPools ?? []).forEach((p, i) => {
      if (!cidrContains(c, p.start) || !cidrContains(c, p.end) || parseIPv4(p.start)! > parseIPv4(p.end)!) {
        causes.push(invalidField(`spec.allocationPools[${i}]`, `${p.start}-${p.end} must be an ascending range inside ${spec.cidr}`));
      }
    });
    const oldSpec = old?.spec;
    if (oldSpec && (oldSpec.cidr !== spec.cidr || oldSpec.network !== spec.network)) {
      causes.push(invalidField("spec.cidr", "cidr and network are immutable"));
    }
    return causes;
  },
});

/** Schema of one address of a port. */
export const FixedIPSchema = Strict({ subnet: Type.String(), ipAddress: IPv4 });
/** One address of a port. */
export type FixedIP = Static<typeof FixedIPSchema>;

const MAC = Type.String({ pattern: "^([0-9a-f]{2}:){5}[0-9a-f]{2}$" });

/** Schema of a Port's spec: MAC and addresses are allocated by the server when absent. */
export const PortSpecSchema = Strict({
  network: Type.String({ minLength: 1 }),
  macAddress: Type.Optional(MAC),
  fixedIPs: Type.Optional(Type.Array(FixedIPSchema)),
  /** Host the port is bound to (its agent plumbs it). */
  hostBinding: Type.Optional(Type.String()),
  /** What uses the port: "instance:<name>", "probe", "network:dhcp". */
  deviceOwner: Type.Optional(Type.String()),
  /** Ask the host's agent to plug a probe namespace behind the port (`kumo port plug`). */
  plugged: Type.Optional(Type.Boolean()),
  /** DNS name (defaults to the port name). */
  dnsName: Type.Optional(Type.String()),
});
/** Port spec. */
export type PortSpec = Static<typeof PortSpecSchema>;

/** Schema of a Port's status, written by the agent of the bound host. */
export const PortStatusSchema = Strict({
  phase: Type.Optional(Type.Union([Type.Literal("Pending"), Type.Literal("Bound"), Type.Literal("Active"), Type.Literal("Down")])),
  /** Network namespace (probe) or tap device on the host. */
  device: Type.Optional(Type.String()),
  /** Address the DHCP client inside the port got (must equal fixedIPs[0]). */
  leasedAddress: Type.Optional(Type.String()),
  conditions: Type.Optional(Conditions),
});
/** Port status. */
export type PortStatus = Static<typeof PortStatusSchema>;

/** A Port object. */
export type Port = KObject<PortSpec, PortStatus>;

/** A virtual NIC on a network: MAC, fixed IPs from IPAM, host binding. */
export const PortKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Port",
  plural: "ports",
  shortNames: ["pt"],
  namespaced: true,
  schema: Strict({ spec: PortSpecSchema, status: Type.Optional(PortStatusSchema) }),
  columns: [
    { name: "Network", type: "string", value: (o) => o.spec?.network },
    { name: "IP", type: "string", value: (o) => o.spec?.fixedIPs?.map((f) => f.ipAddress).join(",") },
    { name: "MAC", type: "string", value: (o) => o.spec?.macAddress },
    { name: "Host", type: "string", value: (o) => o.spec?.hostBinding },
    { name: "Status", type: "string", value: (o) => o.status?.phase ?? "Pending" },
    { name: "Owner", type: "string", priority: 1, value: (o) => o.spec?.deviceOwner },
  ],
  validate: (o, old) => {
    const spec = o.spec!;
    const oldSpec = old?.spec;
    const causes: StatusCause[] = [];
    if (oldSpec && oldSpec.network !== spec.network) causes.push(invalidField("spec.network", "field is immutable"));
    if (oldSpec?.macAddress && oldSpec.macAddress !== spec.macAddress) {
      causes.push(invalidField("spec.macAddress", "field is immutable once allocated"));
    }
    if (oldSpec?.fixedIPs && JSON.stringify(oldSpec.fixedIPs) !== JSON.stringify(spec.fixedIPs)) {
      causes.push(invalidField("spec.fixedIPs", "field is immutable once allocated (delete and re-create the port)"));
    }
    return causes;
  },
});
