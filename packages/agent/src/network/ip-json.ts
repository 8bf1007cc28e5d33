/**
 * Readers for `ip -json` / `bridge -json` output. Only kumo-owned devices (BRIDGE_PREFIX /
 * VXLAN_PREFIX) and the entries hanging off them are kept; everything else on the host is ignored,
 * so the diff can never decide to delete something kumo did not make.
 */
import {
  ALIAS_PREFIX,
  BRIDGE_PREFIX,
  DEFAULT_VXLAN_PORT,
  FLOOD_MAC,
  VXLAN_PREFIX,
  type HostNetworkState,
  type NetworkDataplane,
} from "./types.js";

/** A kumo bridge as the kernel holds it. */
export interface ObservedBridge {
  name: string;
  mtu: number;
  up: boolean;
  /** Network name from the ifalias, when set. */
  network?: string;
  /** Global-scope addresses, CIDR form. */
  addresses: string[];
}

/** A kumo VXLAN device as the kernel holds it. */
export interface ObservedVxlan {
  name: string;
  vni: number;
  local: string;
  dev: string;
  port: number;
  learning: boolean;
  proxy: boolean;
  mtu: number;
  up: boolean;
  master?: string;
}

/** Every kumo-owned device and entry on one host, keyed for the diff. */
export interface ObservedHost {
  /** Names of every link in the netns (kumo's or not): the diff checks underlay devices exist. */
  links: Set<string>;
  bridges: Map<string, ObservedBridge>;
  vxlans: Map<string, ObservedVxlan>;
  /** VXLAN device → set of flood destinations. */
  flood: Map<string, Set<string>>;
  /** VXLAN device → MAC → VTEP. */
  fdb: Map<string, Map<string, string>>;
  /** VXLAN device → IP → MAC (permanent only). */
  neighbours: Map<string, Map<string, string>>;
  /** Bridge → destination → next hop ("" = on-link); kumo proto only. */
  routes: Map<string, Map<string, string>>;
}

/** An empty ObservedHost. */
export function emptyObserved(): ObservedHost {
  return {
    links: new Set(),
    bridges: new Map(),
    vxlans: new Map(),
    flood: new Map(),
    fdb: new Map(),
    neighbours: new Map(),
    routes: new Map(),
  };
}

/**
 * Splits concatenated top-level JSON values (what `ip -json -batch -` prints: one array per
 * command). Tracks strings so brackets inside names do not confuse it.
 */
export function splitJsonValues(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0,
    start = -1,
    inString = false,
    escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === "\\") escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "]" || c === "}") {
      if (--depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  if (depth !== 0) throw new Error("truncated JSON from ip/bridge");
  return out;
}

type Json = Record<string, unknown>;
const isOwned = (n: unknown): n is string => typeof n === "string" && (n.startsWith(BRIDGE_PREFIX) || n.startsWith(VXLAN_PREFIX));
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const flagsOf = (l: Json): string[] => (Array.isArray(l.flags) ? (l.flags as string[]) : []);

function inner<K>(m: Map<string, K>, key: string, make: () => K): K {
  let v = m.get(key);
  if (v === undefined) m.set(key, (v = make()));
  return v;
}

/** Fills links and addresses from `ip -json -details addr show`. */
export function readLinks(into: ObservedHost, links: unknown): void {
  for (const l of arr(links)) {
    const name = l.ifname;
    if (typeof name === "string") into.links.add(name);
    if (!isOwned(name)) continue;
    const info = (l.linkinfo ?? {}) as Json;
    const data = (info.info_data ?? {}) as Json;
    const up = flagsOf(l).includes("UP");
    const mtu = Number(l.mtu);
    if (info.info_kind === "bridge" && name.startsWith(BRIDGE_PREFIX)) {
      const alias = typeof l.ifalias === "string" && l.ifalias.startsWith(ALIAS_PREFIX) ? l.ifalias.slice(ALIAS_PREFIX.length) : undefined;
      const addresses = arr(l.addr_info)
        .filter((a) => a.scope === "global" && (a.family === "inet" || a.family === "inet6"))
        .map((a) => `${String(a.local)}/${String(a.prefixlen)}`);
      into.bridges.set(name, { name, mtu, up, network: alias, addresses });
    } else if (info.info_kind === "vxlan" && name.startsWith(VXLAN_PREFIX)) {
      into.vxlans.set(name, {
        name,
        mtu,
        up,
        vni: Number(data.id),
        local: String(data.local ?? data.local6 ?? ""),
        dev: String(data.link ?? ""),
        port: Number(data.port ?? DEFAULT_VXLAN_PORT),
        learning: data.learning !== false,
        proxy: data.proxy === true,
        master: typeof l.master === "string" ? l.master : undefined,
      });
    } else {
      // A device with our prefix but the wrong kind: record it as a bridge/vxlan that can never
      // match, so the diff deletes and recreates it.
      if (name.startsWith(BRIDGE_PREFIX)) into.bridges.set(name, { name, mtu: -1, up, addresses: [] });
      else into.vxlans.set(name, { name, mtu: -1, up, vni: -1, local: "", dev: "", port: -1, learning: true, proxy: false });
    }
  }
}

/** Fills permanent neighbours from `ip -json neigh show nud permanent`. */
export function readNeighbours(into: ObservedHost, neigh: unknown): void {
  for (const n of arr(neigh)) {
    if (typeof n.dev !== "string" || !n.dev.startsWith(VXLAN_PREFIX) || typeof n.lladdr !== "string") continue;
    inner(into.neighbours, n.dev, () => new Map()).set(String(n.dst), n.lladdr.toLowerCase());
  }
}

/** Fills kumo routes from `ip -json route show table main proto 77`. */
export function readRoutes(into: ObservedHost, routes: unknown): void {
  for (const r of arr(routes)) {
    if (typeof r.dev !== "string" || !r.dev.startsWith(BRIDGE_PREFIX)) continue;
    inner(into.routes, r.dev, () => new Map()).set(String(r.dst), typeof r.gateway === "string" ? r.gateway : "");
  }
}

/** Fills VXLAN FDB entries (the `self` ones with a `dst`) from `bridge -json fdb show`. */
export function readFdb(into: ObservedHost, fdb: unknown): void {
  for (const e of arr(fdb)) {
    if (typeof e.ifname !== "string" || !e.ifname.startsWith(VXLAN_PREFIX) || typeof e.dst !== "string") continue;
    const mac = String(e.mac).toLowerCase();
    if (mac === FLOOD_MAC) inner(into.flood, e.ifname, () => new Set()).add(e.dst);
    else {
      // Several remotes for one unicast MAC (a hand-made `append`) show as "a,b": never equal to
      // a desired single dst, so the diff clears and rewrites the entry.
      const m = inner(into.fdb, e.ifname, () => new Map<string, string>());
      const prev = m.get(mac);
      m.set(mac, prev === undefined ? e.dst : [...prev.split(","), e.dst].sort().join(","));
    }
  }
}

/** Parses the read batch of LinuxNetworkDriver (addr, neigh, route, in that order) plus the FDB dump. */
export function parseObserved(ipOut: string, fdbOut: string): ObservedHost {
  const [links, neigh, routes] = splitJsonValues(ipOut);
  const [fdb] = splitJsonValues(fdbOut);
  const o = emptyObserved();
  readLinks(o, links);
  readNeighbours(o, neigh);
  readRoutes(o, routes);
  readFdb(o, fdb);
  return o;
}

/** Groups an ObservedHost into the desired-state shape (bridge and VXLAN paired by VNI suffix). */
export function toHostState(o: ObservedHost): HostNetworkState {
  const networks: NetworkDataplane[] = [];
  for (const br of o.bridges.values()) {
    const suffix = br.name.slice(BRIDGE_PREFIX.length);
    const vxName = VXLAN_PREFIX + suffix;
    const vx = o.vxlans.get(vxName);
    networks.push({
      name: br.network ?? br.name,
      vni: vx?.vni ?? Number(suffix),
      mtu: br.mtu,
      bridge: br.name,
      vxlan: vxName,
      localVtep: vx?.local ?? "",
      underlayDev: vx?.dev ?? "",
      dstPort: vx?.port,
      addresses: [...br.addresses],
      floodPeers: [...(o.flood.get(vxName) ?? [])],
      fdb: [...(o.fdb.get(vxName) ?? new Map<string, string>())].map(([mac, dst]) => ({ mac, dst })),
      neighbours: [...(o.neighbours.get(vxName) ?? new Map<string, string>())].map(([ip, mac]) => ({ ip, mac })),
      routes: [...(o.routes.get(br.name) ?? new Map<string, string>())].map(([dst, via]) => (via ? { dst, via } : { dst })),
    });
  }
  // A VXLAN device without its bridge (half-deleted by hand) is still reported, so it is seen.
  for (const vx of o.vxlans.values()) {
    if (o.bridges.has(BRIDGE_PREFIX + vx.name.slice(VXLAN_PREFIX.length))) continue;
    networks.push({
      name: vx.name,
      vni: vx.vni,
      mtu: vx.mtu,
      bridge: "",
      vxlan: vx.name,
      localVtep: vx.local,
      underlayDev: vx.dev,
      dstPort: vx.port,
      addresses: [],
      floodPeers: [...(o.flood.get(vx.name) ?? [])],
      fdb: [...(o.fdb.get(vx.name) ?? new Map<string, string>())].map(([mac, dst]) => ({ mac, dst })),
      neighbours: [...(o.neighbours.get(vx.name) ?? new Map<string, string>())].map(([ip, mac]) => ({ ip, mac })),
      routes: [],
    });
  }
  return { networks: networks.sort((a, b) => a.vni - b.vni) };
}
