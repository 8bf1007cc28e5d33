/**
 * The topology as a graph: hosts, networks, ports, instances, and the VXLAN tunnels each network
 * needs between the hosts that carry it. A peer can only build its FDB/neighbour entries toward a
 * host that publishes its VTEP, is Ready and reports no dataplane problem for that network; anything
 * else is the "host missing from a peer's tables" failure, and is marked broken with the reason.
 */
import type { Host, Instance, KObject, Network, Port } from "@kumo/api";

/** Annotation carrying a host's VTEP address (written by its agent). */
export const VTEP_IP = "network.kumo.dev/vtep-ip";

/** A host as drawn. */
export interface TopoHost {
  name: string;
  ready: boolean;
  vtep?: string;
  /** Why peers cannot reach it over the overlay (empty: healthy). */
  problems: string[];
}

/** A network as drawn. */
export interface TopoNetwork {
  key: string;
  name: string;
  vni?: number;
  /** Hosts that carry it: ports bound there, or instances scheduled there. */
  hosts: string[];
}

/** An instance or a port, attached to a host (if bound) and networks. */
export interface TopoEndpoint {
  key: string;
  name: string;
  type: "instance" | "port";
  host?: string;
  networks: string[];
  phase?: string;
  ip?: string;
}

/** A tunnel of one network between two hosts. */
export interface TopoTunnel {
  network: string;
  a: string;
  b: string;
  broken: boolean;
  reason?: string;
}

/** The whole picture. */
export interface Topology {
  hosts: TopoHost[];
  networks: TopoNetwork[];
  endpoints: TopoEndpoint[];
  tunnels: TopoTunnel[];
}

const nsKey = (ns: string | undefined, name: string) => (ns ? `${ns}/${name}` : name);

/** Builds the graph. Ports owned by an instance are folded into that instance. */
export function buildTopology(hostObjs: KObject[], networkObjs: KObject[], portObjs: KObject[], instanceObjs: KObject[]): Topology {
  const hosts = hostObjs as Host[];
  const networks = networkObjs as Network[];
  const ports = portObjs as Port[];
  const instances = instanceObjs as Instance[];
  const th: TopoHost[] = hosts.map((h) => {
    const ready = h.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const vtep = h.metadata.annotations?.[VTEP_IP];
    const problems: string[] = [];
    if (!vtep) problems.push(`no ${VTEP_IP} annotation: peers have no VTEP to send to`);
    if (!ready) problems.push("not Ready");
    return { name: h.metadata.name ?? "", ready, vtep, problems };
  });
  const hostProblems = new Map<string, { network: string; reason: string; message: string }[]>(
    hosts.map((h) => [h.metadata.name ?? "", h.status?.dataplane?.problems ?? []]),
  );
  const endpoints: TopoEndpoint[] = [];
  for (const i of instances) {
    const ns = i.metadata.namespace;
    endpoints.push({
      key: `instance:${nsKey(ns, i.metadata.name ?? "")}`,
      name: i.metadata.name ?? "",
      type: "instance",
      host: i.status?.host,
      networks: (i.spec?.networks ?? []).map((n) => nsKey(ns, n.network)),
      phase: i.status?.phase ?? "Pending",
      ip: (i.status?.addresses ?? []).map((a) => a.ip).join(", ") || undefined,
    });
  }
  for (const p of ports) {
    if (typeof p.spec?.deviceOwner === "string" && p.spec.deviceOwner.startsWith("instance:")) continue;
    const ns = p.metadata.namespace;
    endpoints.push({
      key: `port:${nsKey(ns, p.metadata.name ?? "")}`,
      name: p.metadata.name ?? "",
      type: "port",
      host: p.spec?.hostBinding,
      networks: p.spec?.network ? [nsKey(ns, p.spec.network)] : [],
      phase: p.status?.phase ?? "Pending",
      ip: p.spec?.fixedIPs?.[0]?.ipAddress,
    });
  }
  // Ports owned by instances still say which host carries the network even when the instance has no status yet.
  const carriers = new Map<string, Set<string>>();
  const carry = (net: string, host: string | undefined) => {
    if (host) (carriers.get(net) ?? carriers.set(net, new Set()).get(net)!).add(host);
  };
  for (const e of endpoints) for (const n of e.networks) carry(n, e.host);
  for (const p of ports) if (p.spec?.network) carry(nsKey(p.metadata.namespace, p.spec.network), p.spec?.hostBinding);
  const tn: TopoNetwork[] = networks.map((n) => {
    const key = nsKey(n.metadata.namespace, n.metadata.name ?? "");
    return { key, name: n.metadata.name ?? "", vni: n.spec?.vni ?? n.status?.vni, hosts: [...(carriers.get(key) ?? [])].sort() };
  });
  const byName = new Map(th.map((h) => [h.name, h]));
  const tunnels: TopoTunnel[] = [];
  for (const n of tn) {
    for (let i = 0; i < n.hosts.length; i++) {
      for (let j = i + 1; j < n.hosts.length; j++) {
        const reasons = [n.hosts[i], n.hosts[j]].flatMap((h) => whyUnreachable(h, n, byName.get(h), hostProblems.get(h) ?? []));
        tunnels.push({ network: n.key, a: n.hosts[i], b: n.hosts[j], broken: reasons.length > 0, reason: reasons.join("; ") || undefined });
      }
    }
  }
  return { hosts: th, networks: tn, endpoints, tunnels };
}

function whyUnreachable(
  host: string,
  n: TopoNetwork,
  h: TopoHost | undefined,
  problems: { network: string; reason: string; message: string }[],
): string[] {
  if (!h) return [`${host}: no such Host`];
  const out = h.problems.map((p) => `${host}: ${p}`);
  // Agents report problems by network name or namespace/name; accept both.
  for (const p of problems) if (p.network === n.key || p.network === n.name) out.push(`${host}: ${p.reason}: ${p.message}`);
  return out;
}
