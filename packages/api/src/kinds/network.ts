/** network.kumo.dev: overlay networks (VXLAN), subnets with IPAM and DHCP, and ports. */
import { Type } from "@sinclair/typebox";
import { defineKind } from "../kind.js";
import type { Condition, KObject } from "../meta.js";
import { Conditions, Strict } from "./common.js";
import { cidrContains, parseCidr, parseIPv4 } from "../ipv4.js";

/** Network spec. The VNI is allocated by the server when not given. */
export interface NetworkSpec {
  vni?: number;
  mtu?: number;
  description?: string;
}

/** Network status. */
export interface NetworkStatus {
  vni?: number;
  mtu?: number;
  conditions?: Condition[];
}

/** A Network object. */
export type Network = KObject<NetworkSpec, NetworkStatus>;

/** Largest VXLAN network identifier (24 bits). */
export const MAX_VNI = 16_777_215;
/** The underlay MTU kumo assumes; VXLAN over IPv4 costs 50 bytes. */
export const UNDERLAY_MTU = 1500;

/** An isolated L2 overlay segment (one VXLAN VNI) inside a project. */
export const NetworkKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Network",
  plural: "networks",
  shortNames: ["net"],
  namespaced: true,
  schema: Strict({
    spec: Type.Optional(
      Strict({
        vni: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_VNI })),
        mtu: Type.Optional(Type.Integer({ minimum: 576, maximum: 9000 })),
        description: Type.Optional(Type.String()),
      }),
    ),
    status: Type.Optional(Strict({ vni: Type.Optional(Type.Integer()), mtu: Type.Optional(Type.Integer()), conditions: Type.Optional(Conditions) })),
  }),
  columns: [
    { name: "VNI", type: "integer", value: (o) => (o.spec as NetworkSpec | undefined)?.vni },
    { name: "MTU", type: "integer", value: (o) => (o.spec as NetworkSpec | undefined)?.mtu },
  ],
  defaults: (o) => {
    const spec = (o.spec ??= {}) as NetworkSpec;
    spec.mtu ??= UNDERLAY_MTU - 50;
  },
  validate: (o, old) => {
    const spec = o.spec as NetworkSpec;
    const oldSpec = old?.spec as NetworkSpec | undefined;
    if (old && oldSpec?.vni !== undefined && spec.vni !== oldSpec.vni) return [{ field: "spec.vni", message: `field is immutable (was ${oldSpec.vni})`, reason: "FieldValueInvalid" }];
    if (spec.mtu !== undefined && spec.mtu > UNDERLAY_MTU - 50) return [{ field: "spec.mtu", message: `must be at most ${UNDERLAY_MTU - 50} (underlay MTU ${UNDERLAY_MTU} minus 50 bytes of VXLAN overhead)`, reason: "FieldValueInvalid" }];
    return [];
  },
});

/** An allocation pool (inclusive range). */
export interface AllocationPool {
  start: string;
  end: string;
}

/** Subnet spec. */
export interface SubnetSpec {
  network: string;
  cidr: string;
  gateway?: string;
  allocationPools?: AllocationPool[];
  enableDhcp?: boolean;
  dnsServers?: string[];
}

const IPv4 = Type.String({ format: "ipv4" });

/** An IPv4 range on a Network with IPAM pools and DHCP settings. */
export const SubnetKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Subnet",
  plural: "subnets",
  shortNames: ["sn"],
  namespaced: true,
  statusSubresource: false,
  schema: Strict({
    spec: Strict({
      network: Type.String({ minLength: 1 }),
      cidr: Type.String({ minLength: 9 }),
      gateway: Type.Optional(IPv4),
      allocationPools: Type.Optional(Type.Array(Strict({ start: IPv4, end: IPv4 }))),
      enableDhcp: Type.Optional(Type.Boolean()),
      dnsServers: Type.Optional(Type.Array(IPv4)),
    }),
  }),
  columns: [
    { name: "Network", type: "string", value: (o) => (o.spec as SubnetSpec).network },
    { name: "CIDR", type: "string", value: (o) => (o.spec as SubnetSpec).cidr },
    { name: "Gateway", type: "string", value: (o) => (o.spec as SubnetSpec).gateway },
    { name: "DHCP", type: "boolean", value: (o) => (o.spec as SubnetSpec).enableDhcp ?? true },
  ],
  defaults: (o) => {
    const spec = o.spec as SubnetSpec;
    if (!spec?.cidr) return;
    const c = parseCidr(spec.cidr);
    if (!c) return;
    spec.enableDhcp ??= true;
    spec.gateway ??= c.first;
    spec.allocationPools ??= [{ start: c.nth(2), end: c.last }];
  },
  validate: (o, old) => {
    const spec = o.spec as SubnetSpec;
    const c = parseCidr(spec.cidr);
    if (!c) return [{ field: "spec.cidr", message: `"${spec.cidr}" is not an IPv4 CIDR like 10.0.0.0/24`, reason: "FieldValueInvalid" }];
    if (c.prefix > 29) return [{ field: "spec.cidr", message: "prefix must be /29 or larger", reason: "FieldValueInvalid" }];
    const causes = [];
    if (spec.gateway && !cidrContains(c, spec.gateway)) causes.push({ field: "spec.gateway", message: `${spec.gateway} is not inside ${spec.cidr}`, reason: "FieldValueInvalid" });
    (spec.allocationPools ?? []).forEach((p, i) => {
      if (!cidrContains(c, p.start) || !cidrContains(c, p.end) || parseIPv4(p.start)! > parseIPv4(p.end)!) causes.push({ field: `spec.allocationPools[${i}]`, message: `${p.start}-${p.end} must be an ascending range inside ${spec.cidr}`, reason: "FieldValueInvalid" });
    });
    const oldSpec = old?.spec as SubnetSpec | undefined;
    if (oldSpec && (oldSpec.cidr !== spec.cidr || oldSpec.network !== spec.network)) causes.push({ field: "spec.cidr", message: "cidr and network are immutable", reason: "FieldValueInvalid" });
    return causes;
  },
});

/** One address of a port. */
export interface FixedIP {
  subnet: string;
  ipAddress: string;
}

/** Port spec: MAC and addresses are allocated by the server when absent. */
export interface PortSpec {
  network: string;
  macAddress?: string;
  fixedIPs?: FixedIP[];
  /** Host the port is bound to (its agent plumbs it). */
  hostBinding?: string;
  /** What uses the port: "instance:<name>", "probe", "network:dhcp". */
  deviceOwner?: string;
  /** Ask the host's agent to plug a probe namespace behind the port (`kumo port plug`). */
  plugged?: boolean;
  /** DNS name (defaults to the port name). */
  dnsName?: string;
}

/** Port status, written by the agent of the bound host. */
export interface PortStatus {
  phase?: "Pending" | "Bound" | "Active" | "Down";
  /** Network namespace (probe) or tap device on the host. */
  device?: string;
  /** Address the DHCP client inside the port got (must equal fixedIPs[0]). */
  leasedAddress?: string;
  conditions?: Condition[];
}

/** A Port object. */
export type Port = KObject<PortSpec, PortStatus>;

const MAC = Type.String({ pattern: "^([0-9a-f]{2}:){5}[0-9a-f]{2}$" });

/** A virtual NIC on a network: MAC, fixed IPs from IPAM, host binding. */
export const PortKind = defineKind({
  group: "network.kumo.dev",
  version: "v1",
  kind: "Port",
  plural: "ports",
  shortNames: ["pt"],
  namespaced: true,
  schema: Strict({
    spec: Strict({
      network: Type.String({ minLength: 1 }),
      macAddress: Type.Optional(MAC),
      fixedIPs: Type.Optional(Type.Array(Strict({ subnet: Type.String(), ipAddress: IPv4 }))),
      hostBinding: Type.Optional(Type.String()),
      deviceOwner: Type.Optional(Type.String()),
      plugged: Type.Optional(Type.Boolean()),
      dnsName: Type.Optional(Type.String()),
    }),
    status: Type.Optional(
      Strict({
        phase: Type.Optional(Type.Union([Type.Literal("Pending"), Type.Literal("Bound"), Type.Literal("Active"), Type.Literal("Down")])),
        device: Type.Optional(Type.String()),
        leasedAddress: Type.Optional(Type.String()),
        conditions: Type.Optional(Conditions),
      }),
    ),
  }),
  columns: [
    { name: "Network", type: "string", value: (o) => (o.spec as PortSpec).network },
    { name: "IP", type: "string", value: (o) => (o.spec as PortSpec).fixedIPs?.map((f) => f.ipAddress).join(",") },
    { name: "MAC", type: "string", value: (o) => (o.spec as PortSpec).macAddress },
    { name: "Host", type: "string", value: (o) => (o.spec as PortSpec).hostBinding },
    { name: "Status", type: "string", value: (o) => (o.status as PortStatus | undefined)?.phase ?? "Pending" },
    { name: "Owner", type: "string", priority: 1, value: (o) => (o.spec as PortSpec).deviceOwner },
  ],
  validate: (o, old) => {
    const spec = o.spec as PortSpec;
    const oldSpec = old?.spec as PortSpec | undefined;
    const causes = [];
    if (oldSpec && oldSpec.network !== spec.network) causes.push({ field: "spec.network", message: "field is immutable", reason: "FieldValueInvalid" });
    if (oldSpec?.macAddress && oldSpec.macAddress !== spec.macAddress) causes.push({ field: "spec.macAddress", message: "field is immutable once allocated", reason: "FieldValueInvalid" });
    if (oldSpec?.fixedIPs && JSON.stringify(oldSpec.fixedIPs) !== JSON.stringify(spec.fixedIPs)) causes.push({ field: "spec.fixedIPs", message: "field is immutable once allocated (delete and re-create the port)", reason: "FieldValueInvalid" });
    return causes;
  },
});
