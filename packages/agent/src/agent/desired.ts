/**
 * What one host's dataplane should hold, computed purely from API objects (level-triggered: the whole
 * desired state every time, never deltas). l2population: for every network with a port on this host,
 * a bridge + VXLAN; for every remote host with ports on it, a flood entry to its VTEP; for every remote
 * port, an FDB entry (MAC → VTEP) and a permanent neighbour entry (IP → MAC).
 */
import { type Host, type KObject, type Network, type Port, type SubnetSpec, VTEP_IP_ANNOTATION, parseCidr } from "@kumo/api";
import type { DhcpNetworkConfig } from "../dhcp/types.js";
import { deviceNames, type HostNetworkState, type NetworkDataplane } from "../network/types.js";

/** deviceOwner of the port that gives a host its DHCP/DNS address on a network. */
export const DHCP_OWNER = "network:dhcp";

/** Name of a host's DHCP port on a network. */
export function dhcpPortName(network: string, host: string): string {
  return `dhcp-${network}-${host}`.slice(0, 253);
}

/** Inputs: the informers' caches. */
export interface ClusterView {
  self: string;
  localVtep: string;
  underlayDev: string;
  hosts: Host[];
  networks: Network[];
  subnets: KObject<SubnetSpec>[];
  ports: Port[];
}

/** Something the agent could not program and why (shown in /debug/state and used by doctor). */
export interface Problem {
  network: string;
  reason: string;
  message: string;
}

/** Everything the agent converges to. */
export interface DesiredHost {
  dataplane: HostNetworkState;
  dhcp: DhcpNetworkConfig[];
  /** Local networks lacking this host's DHCP port (the agent creates them). */
  missingDhcpPorts: { namespace: string; network: string }[];
  /** Local ports that want a probe namespace plugged. */
  probes: Port[];
  problems: Problem[];
}

const key = (o: KObject) => `${o.metadata.namespace}/${o.metadata.name}`;

/** Computes the desired state of `view.self`. */
export function computeDesired(view: ClusterView): DesiredHost {
  const out: DesiredHost = { dataplane: { networks: [] }, dhcp: [], missingDhcpPorts: [], probes: [], problems: [] };
  const vtepOf = new Map(view.hosts.map((h) => [h.metadata.name!, h.metadata.annotations?.[VTEP_IP_ANNOTATION]]));
  const portsByNet = new Map<string, Port[]>();
  for (const p of view.ports) {
    if (p.metadata.deletionTimestamp) continue;
    const k = `${p.metadata.namespace}/${p.spec!.network}`;
    portsByNet.set(k, [...(portsByNet.get(k) ?? []), p]);
  }
  for (const net of view.networks) {
    const ns = net.metadata.namespace!;
    const ports = portsByNet.get(key(net)) ?? [];
    const local = ports.filter((p) => p.spec!.hostBinding === view.self);
    const workload = local.filter((p) => p.spec!.deviceOwner !== DHCP_OWNER);
    if (workload.length === 0) continue; // nothing of this network runs here: no bridge, no VXLAN
    const spec = net.spec!;
    const subnet = view.subnets.find((s) => s.metadata.namespace === ns && s.spec!.network === net.metadata.name);
    if (!spec.vni || !subnet) {
      out.problems.push({ network: key(net), reason: "NotReady", message: !spec.vni ? "network has no VNI" : "network has no subnet" });
      continue;
    }
    const cidr = parseCidr(subnet.spec!.cidr)!;
    const dhcpPort = local.find((p) => p.spec!.deviceOwner === DHCP_OWNER);
    if (!dhcpPort) out.missingDhcpPorts.push({ namespace: ns, network: net.metadata.name! });
    const dp: NetworkDataplane = {
      name: `${ns}.${net.metadata.name}`,
      vni: spec.vni,
      mtu: spec.mtu ?? 1450,
      ...deviceNames(spec.vni),
      localVtep: view.localVtep,
      underlayDev: view.underlayDev,
      addresses: dhcpPort?.spec!.fixedIPs?.length ? [`${dhcpPort.spec.fixedIPs[0].ipAddress}/${cidr.prefix}`] : [],
      floodPeers: [],
      fdb: [],
      neighbours: [],
    };
    const peers = new Set<string>();
    for (const p of ports) {
      const host = p.spec!.hostBinding;
      if (!host || host === view.self) continue;
      const vtep = vtepOf.get(host);
      if (!vtep) {
        out.problems.push({
          network: key(net),
          reason: vtepOf.has(host) ? "PeerWithoutVtep" : "PeerHostUnknown",
          message:
            `port ${p.metadata.name} is bound to host ${host}, ` +
            `which ${vtepOf.has(host) ? `has no ${VTEP_IP_ANNOTATION} annotation` : "does not exist"}`,
        });
        continue;
      }
      if (vtep === view.localVtep) continue;
      peers.add(vtep);
      const mac = p.spec!.macAddress;
      const ip = p.spec!.fixedIPs?.[0]?.ipAddress;
      if (mac) dp.fdb.push({ mac, dst: vtep });
      if (mac && ip) dp.neighbours.push({ ip, mac });
    }
    dp.floodPeers = [...peers].sort();
    out.dataplane.networks.push(dp);
    for (const p of workload) if (p.spec!.plugged) out.probes.push(p);
    if (dhcpPort && subnet.spec!.enableDhcp !== false) {
      const served = workload.filter((p) => p.spec!.macAddress && p.spec!.fixedIPs?.length);
      out.dhcp.push({
        network: `${ns}.${net.metadata.name}`.replace(/\./g, "_"),
        project: ns,
        interface: dp.bridge,
        cidr: subnet.spec!.cidr,
        serverAddress: dhcpPort.spec!.fixedIPs![0].ipAddress,
        gateway: subnet.spec!.gateway,
        dnsServers: subnet.spec!.dnsServers,
        mtu: dp.mtu,
        domain: `${net.metadata.name}.${ns}.kumo`,
        hosts: served.map((p) => ({ mac: p.spec!.macAddress!, ip: p.spec!.fixedIPs![0].ipAddress, name: dnsLabel(p) })),
        dnsRecords: ports
          .filter((p) => p.spec!.hostBinding !== view.self && p.spec!.deviceOwner !== DHCP_OWNER && p.spec!.fixedIPs?.length)
          .map((p) => ({ ip: p.spec!.fixedIPs![0].ipAddress, name: dnsLabel(p) })),
      });
    }
  }
  return out;
}

/** The DNS label of a port: its dnsName, else the instance it belongs to, else its name. */
export function dnsLabel(p: Port): string {
  const spec = p.spec!;
  if (spec.dnsName) return spec.dnsName;
  const owner = spec.deviceOwner?.startsWith("instance:") ? spec.deviceOwner.slice("instance:".length) : undefined;
  return (owner ?? p.metadata.name!).toLowerCase().replace(/[^a-z0-9-]/g, "-");
}
