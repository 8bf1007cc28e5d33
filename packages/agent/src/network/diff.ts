/**
 * The pure heart of the driver: desired state + what the kernel holds + what the last sync put
 * in place → the batch lines to write and the counts to report. No I/O, so every decision is unit
 * tested without root. An entry already right produces no line at all: that is what makes an agent
 * restart with unchanged desired state a zero-write sync.
 */
import type { ObservedHost, ObservedVxlan } from "./ip-json.js";
import {
  ALIAS_PREFIX,
  BRIDGE_PREFIX,
  ENTRY_KINDS,
  VXLAN_PREFIX,
  FLOOD_MAC,
  KUMO_ROUTE_PROTO,
  type EntryKind,
  type HostNetworkState,
  type KindCounts,
  type NetworkDataplane,
  type NetworkSyncReport,
} from "./types.js";

/** Per network, per kind: key → value the driver last wrote successfully (the drift baseline). */
export type AppliedState = Map<string, Record<EntryKind, Map<string, string>>>;

/** One batch line and what it is for, so a refused line can be traced back to its entry. */
export interface PlannedLine {
  line: string;
  network: string;
  kind: EntryKind;
  key: string;
  op: "add" | "update" | "remove";
}

/** The writes one sync needs, in the order they must run. */
export interface Plan {
  /** `ip -batch` lines for devices and addresses (run first: FDB needs the VXLAN device). */
  linkLines: PlannedLine[];
  /** `ip -batch` lines for neighbours and routes (same process, after linkLines). */
  ipLines: PlannedLine[];
  /** `bridge -batch` lines for flood and unicast FDB entries. */
  bridgeLines: PlannedLine[];
  /** true when a VXLAN device is (re)created, so the bridge batch must wait for the ip batch. */
  bridgeAfterIp: boolean;
  reports: NetworkSyncReport[];
  /** Networks left alone because a line for them would abort the whole batch (see problems). */
  problems: string[];
  /** The AppliedState after every line succeeds; the driver removes refused keys. */
  applied: AppliedState;
}

type KV = Map<string, string>;
const zero = (): KindCounts => ({ desired: 0, actualBefore: 0, added: 0, updated: 0, removed: 0, repaired: 0, failed: 0 });
/** A fresh all-zero count record for every kind. */
export const emptyKinds = (): Record<EntryKind, KindCounts> =>
  Object.fromEntries(ENTRY_KINDS.map((k) => [k, zero()])) as Record<EntryKind, KindCounts>;
const emptyKV = (): Record<EntryKind, KV> => Object.fromEntries(ENTRY_KINDS.map((k) => [k, new Map()])) as Record<EntryKind, KV>;

/** Value string of a VXLAN device's identity: fields only a delete + add can change. */
export const vxlanIdentity = (v: Pick<ObservedVxlan, "vni" | "local" | "dev" | "port" | "learning" | "proxy">): string =>
  `id=${v.vni} local=${v.local} dev=${v.dev} port=${v.port} learning=${v.learning} proxy=${v.proxy}`;

/** Identity a network's VXLAN device must have: always nolearning + proxy (l2population). */
const wantedIdentity = (n: NetworkDataplane): string =>
  vxlanIdentity({ vni: n.vni, local: n.localVtep, dev: n.underlayDev, port: n.dstPort ?? 8472, learning: false, proxy: true });

/** The desired key → value maps of one network, per kind. */
export function desiredMaps(n: NetworkDataplane): Record<EntryKind, KV> {
  const m = emptyKV();
  m.bridge.set(n.bridge, `mtu=${n.mtu} up=true alias=${n.name}`);
  m.vxlan.set(n.vxlan, `${wantedIdentity(n)} mtu=${n.mtu} master=${n.bridge} up=true`);
  for (const a of n.addresses) m.address.set(a, "");
  for (const p of n.floodPeers) m.flood.set(p, "");
  for (const e of n.fdb) m.fdb.set(e.mac, e.dst);
  for (const e of n.neighbours) m.neighbour.set(e.ip, e.mac);
  for (const r of n.routes ?? []) m.route.set(r.dst, r.via ?? "");
  return m;
}

/** The observed key → value maps for one bridge/VXLAN pair, per kind (same value format as desiredMaps). */
export function observedMaps(o: ObservedHost, bridge: string, vxlan: string): Record<EntryKind, KV> {
  const m = emptyKV();
  const br = o.bridges.get(bridge);
  if (br) {
    m.bridge.set(bridge, `mtu=${br.mtu} up=${br.up} alias=${br.network ?? ""}`);
    for (const a of br.addresses) m.address.set(a, "");
  }
  const vx = o.vxlans.get(vxlan);
  if (vx) m.vxlan.set(vxlan, `${vxlanIdentity(vx)} mtu=${vx.mtu} master=${vx.master ?? ""} up=${vx.up}`);
  for (const p of o.flood.get(vxlan) ?? []) m.flood.set(p, "");
  for (const [k, v] of o.fdb.get(vxlan) ?? []) m.fdb.set(k, v);
  for (const [k, v] of o.neighbours.get(vxlan) ?? []) m.neighbour.set(k, v);
  for (const [k, v] of o.routes.get(bridge) ?? []) m.route.set(k, v);
  return m;
}

/** How an entry is written: the device may be missing or need a delete + add first. */
interface WriteMode {
  exists: boolean;
  recreate: boolean;
  clearExtra: boolean;
}

/** Batch lines writing one entry (add or update). */
function writeLines(n: NetworkDataplane, kind: EntryKind, key: string, value: string, m: WriteMode): string[] {
  const del = m.recreate ? [`link del dev ${key}`] : [];
  switch (kind) {
    case "bridge":
      return [
        ...del,
        ...(m.recreate || !m.exists ? [`link add ${key} type bridge`] : []),
        `link set dev ${key} mtu ${n.mtu} alias ${ALIAS_PREFIX}${n.name} up`,
      ];
    case "vxlan":
      return [
        ...del,
        ...(m.recreate || !m.exists
          ? [
              `link add ${key} type vxlan id ${n.vni} local ${n.localVtep} dev ${n.underlayDev} ` +
                `dstport ${n.dstPort ?? 8472} nolearning proxy`,
            ]
          : []),
        `link set dev ${key} mtu ${n.mtu} master ${n.bridge} up`,
      ];
    case "address":
      return [`addr replace ${key} dev ${n.bridge}`];
    case "flood":
      return [`fdb append ${FLOOD_MAC} dev ${n.vxlan} dst ${key}`];
    // A unicast MAC holding several remotes (someone used `append`) is cleared first: replace
    // only rewrites the first remote.
    case "fdb":
      return [...(m.clearExtra ? [`fdb del ${key} dev ${n.vxlan}`] : []), `fdb replace ${key} dev ${n.vxlan} dst ${value}`];
    case "neighbour":
      return [`neigh replace ${key} lladdr ${value} dev ${n.vxlan} nud permanent`];
    case "route":
      return [`route replace ${key}${value ? ` via ${value}` : ""} dev ${n.bridge} proto ${KUMO_ROUTE_PROTO}`];
  }
}

/** Batch line for deleting one entry of a network that stays. */
function removeLine(n: NetworkDataplane, kind: EntryKind, key: string): string {
  switch (kind) {
    case "address":
      return `addr del ${key} dev ${n.bridge}`;
    case "flood":
      return `fdb del ${FLOOD_MAC} dev ${n.vxlan} dst ${key}`;
    case "fdb":
      return `fdb del ${key} dev ${n.vxlan}`;
    case "neighbour":
      return `neigh del ${key} dev ${n.vxlan}`;
    case "route":
      return `route del ${key} dev ${n.bridge} proto ${KUMO_ROUTE_PROTO}`;
    default:
      return `link del dev ${key}`;
  }
}

const target = (kind: EntryKind, p: Plan): PlannedLine[] =>
  kind === "bridge" || kind === "vxlan" || kind === "address"
    ? p.linkLines
    : kind === "flood" || kind === "fdb"
      ? p.bridgeLines
      : p.ipLines;

/** Diffs one desired network against the kernel and appends its lines and report to `plan`. */
function diffNetwork(n: NetworkDataplane, o: ObservedHost, last: Record<EntryKind, KV> | undefined, plan: Plan): void {
  const want = desiredMaps(n);
  const have = observedMaps(o, n.bridge, n.vxlan);
  const report: NetworkSyncReport = { name: n.name, removed: false, kinds: emptyKinds() };
  for (const k of ENTRY_KINDS) {
    report.kinds[k].desired = want[k].size;
    report.kinds[k].actualBefore = have[k].size;
  }
  const br = o.bridges.get(n.bridge);
  const vx = o.vxlans.get(n.vxlan);
  const recreateBridge = br !== undefined && br.mtu < 0;
  const recreateVxlan = vx !== undefined && vxlanIdentity(vx) !== wantedIdentity(n);
  // A new or recreated device starts empty: everything that hung off it must be written again.
  const bridgeFresh = !br || recreateBridge;
  const vxlanFresh = !vx || recreateVxlan;
  if (bridgeFresh) {
    have.address.clear();
    have.route.clear();
  }
  if (bridgeFresh && vx) have.vxlan.set(n.vxlan, (have.vxlan.get(n.vxlan) ?? "").replace(/master=\S*/, "master="));
  if (vxlanFresh) {
    have.flood.clear();
    have.fdb.clear();
    have.neighbour.clear();
  }
  plan.bridgeAfterIp ||= vxlanFresh;
  // Entries lost because *we* recreate the VXLAN device (its VNI/VTEP changed in desired state)
  // are not drift; entries lost because someone removed or rebuilt it by hand are.
  const ourRecreate = recreateVxlan && last?.vxlan.get(n.vxlan) !== want.vxlan.get(n.vxlan);
  const dependsOnVxlan = (k: EntryKind) => k === "flood" || k === "fdb" || k === "neighbour";
  for (const kind of ENTRY_KINDS) {
    const c = report.kinds[kind];
    for (const [key, value] of want[kind]) {
      const cur = have[kind].get(key);
      const recreate = (kind === "bridge" && recreateBridge) || (kind === "vxlan" && recreateVxlan);
      if (cur === value && !recreate) continue;
      const op = cur === undefined ? "add" : "update";
      if (op === "add") c.added++;
      else c.updated++;
      if (last?.[kind].get(key) === value && !(ourRecreate && dependsOnVxlan(kind))) c.repaired++;
      const lines = writeLines(n, kind, key, value, { exists: cur !== undefined, recreate, clearExtra: cur?.includes(",") ?? false });
      for (const line of lines) target(kind, plan).push({ line, network: n.name, kind, key, op });
    }
    if (kind === "bridge" || kind === "vxlan") continue;
    for (const key of have[kind].keys()) {
      if (want[kind].has(key)) continue;
      c.removed++;
      target(kind, plan).push({ line: removeLine(n, kind, key), network: n.name, kind, key, op: "remove" });
    }
  }
  plan.applied.set(n.name, want);
  plan.reports.push(report);
}

/**
 * Computes the plan turning `observed` into `desired` (already validated and normalised).
 * `lastApplied` is what the previous sync wrote; entries in it that are missing again count as
 * drift repairs.
 */
export function diff(desired: HostNetworkState, observed: ObservedHost, lastApplied: AppliedState): Plan {
  const plan: Plan = { linkLines: [], ipLines: [], bridgeLines: [], bridgeAfterIp: false, reports: [], problems: [], applied: new Map() };
  const wanted = new Set(desired.networks.flatMap((n) => [n.bridge, n.vxlan]));
  // Networks no longer desired go first (VXLAN before bridge), freeing VNIs and names for reuse.
  const suffixOf = (dev: string) => dev.slice(dev.startsWith(BRIDGE_PREFIX) ? BRIDGE_PREFIX.length : VXLAN_PREFIX.length);
  const byBridge = new Map([...observed.bridges.values()].map((b) => [suffixOf(b.name), b]));
  const gone = new Map<string, NetworkSyncReport>();
  for (const dev of [...observed.vxlans.keys(), ...observed.bridges.keys()]) {
    if (wanted.has(dev)) continue;
    const suffix = suffixOf(dev);
    const name = byBridge.get(suffix)?.network ?? BRIDGE_PREFIX + suffix;
    let r = gone.get(name);
    if (!r) {
      r = { name, removed: true, kinds: emptyKinds() };
      const have = observedMaps(observed, BRIDGE_PREFIX + suffix, VXLAN_PREFIX + suffix);
      for (const k of ENTRY_KINDS) r.kinds[k].actualBefore = r.kinds[k].removed = have[k].size;
      gone.set(name, r);
    }
    plan.linkLines.push({
      line: `link del dev ${dev}`,
      network: name,
      kind: dev.startsWith(VXLAN_PREFIX) ? "vxlan" : "bridge",
      key: dev,
      op: "remove",
    });
  }
  plan.reports.push(...gone.values());
  for (const n of desired.networks) {
    // `ip link add ... dev MISSING` exits the whole batch (not just the line), so a network whose
    // underlay is absent is skipped and reported instead of written.
    if (!observed.links.has(n.underlayDev)) {
      const problem = `underlay device ${n.underlayDev} not found; nothing written`;
      const report: NetworkSyncReport = { name: n.name, removed: false, problem, kinds: emptyKinds() };
      const have = observedMaps(observed, n.bridge, n.vxlan);
      const want = desiredMaps(n);
      for (const k of ENTRY_KINDS) {
        report.kinds[k].desired = want[k].size;
        report.kinds[k].actualBefore = have[k].size;
      }
      plan.reports.push(report);
      plan.problems.push(`network ${n.name}: ${problem}`);
      continue;
    }
    diffNetwork(n, observed, lastApplied.get(n.name), plan);
  }
  return plan;
}
