/**
 * Desired and observed state of the overlay dataplane on one host, plus the reports and
 * snapshots the driver hands back. Plain data only: no API-server types, so the agent can map
 * its API objects onto these and tests can build them by hand.
 *
 * Device naming (kernel limit IFNAMSIZ-1 = 15 chars): a network with VNI N uses the bridge
 * `kbr-N` and the VXLAN device `kvx-N` (VNI ≤ 16777215, so ≤ 12 chars). The prefixes mark what kumo
 * owns: the driver reads, changes and deletes only devices with these prefixes, and only the
 * FDB / neighbour / route entries that hang off them.
 */

/** Prefix of every bridge kumo owns. */
export const BRIDGE_PREFIX = "kbr-";
/** Prefix of every VXLAN device kumo owns. */
export const VXLAN_PREFIX = "kvx-";
/** UDP port of the VXLAN underlay (Linux/flannel default, not IANA 4789). */
export const DEFAULT_VXLAN_PORT = 8472;
/** Route protocol number marking routes kumo owns (`proto 77`), so hand-made routes are left alone. */
export const KUMO_ROUTE_PROTO = 77;
/** Prefix of the bridge's ifalias; the rest is the network name, so observe() can name networks. */
export const ALIAS_PREFIX = "kumo-net=";
/** The all-zero MAC of a VXLAN flood (BUM) entry. */
export const FLOOD_MAC = "00:00:00:00:00:00";

/** Kernel device names for a VNI: bridge `kbr-<vni>`, VXLAN `kvx-<vni>`. */
export function deviceNames(vni: number): { bridge: string; vxlan: string } {
  return { bridge: `${BRIDGE_PREFIX}${vni}`, vxlan: `${VXLAN_PREFIX}${vni}` };
}

/** A unicast FDB entry: a remote port MAC reachable through a remote VTEP. */
export interface FdbEntry {
  mac: string;
  /** Remote VTEP (underlay) IP. */
  dst: string;
}

/** A permanent neighbour entry on the VXLAN device: remote port IP → MAC (answered by `proxy`). */
export interface NeighbourEntry {
  ip: string;
  mac: string;
}

/** A route through the bridge (kumo-owned, `proto 77`); the connected subnet route needs none. */
export interface RouteEntry {
  /** Destination CIDR, or "default". */
  dst: string;
  /** Next hop; omitted for an on-link route. */
  via?: string;
}

/** Everything one network needs on one host. */
export interface NetworkDataplane {
  /** Network name (API object name); stored in the bridge's ifalias. */
  name: string;
  vni: number;
  /** MTU of bridge and VXLAN device (underlay MTU − 50). */
  mtu: number;
  /** Bridge device name; use deviceNames(vni). */
  bridge: string;
  /** VXLAN device name; use deviceNames(vni). */
  vxlan: string;
  /** This host's VTEP (underlay) IP. */
  localVtep: string;
  /** Underlay device carrying the VTEP IP. */
  underlayDev: string;
  /** UDP port; default DEFAULT_VXLAN_PORT. */
  dstPort?: number;
  /** The bridge's own addresses in CIDR form (this host's DHCP/DNS address on the network). */
  addresses: string[];
  /** Remote VTEP IPs that get broadcast/unknown/multicast copies (one flood entry each). */
  floodPeers: string[];
  /** Remote port MAC → remote VTEP. */
  fdb: FdbEntry[];
  /** Remote port IP → MAC. */
  neighbours: NeighbourEntry[];
  /** Extra routes through the bridge; usually empty. */
  routes?: RouteEntry[];
}

/** Desired (input of sync) or observed (output of observe) dataplane of one host. */
export interface HostNetworkState {
  networks: NetworkDataplane[];
}

/** Kinds of things the driver programs; the keys of every per-kind count. */
export type EntryKind = "bridge" | "vxlan" | "address" | "flood" | "fdb" | "neighbour" | "route";

/** All entry kinds, in the order they are reported. */
export const ENTRY_KINDS: readonly EntryKind[] = ["bridge", "vxlan", "address", "flood", "fdb", "neighbour", "route"];

/** What one sync did to one kind of entry of one network. */
export interface KindCounts {
  /** Entries wanted. */
  desired: number;
  /** Entries kumo owned in the kernel before the sync. */
  actualBefore: number;
  /** Entries written because they were missing. */
  added: number;
  /** Entries rewritten because a field differed (FDB dst, neighbour MAC, MTU, ...). */
  updated: number;
  /** Entries deleted because they are no longer wanted. */
  removed: number;
  /** Of added+updated: entries the previous sync had put in place and that vanished or changed since. */
  repaired: number;
  /** Writes of this kind the kernel refused. */
  failed: number;
}

/** Per-network sync result. */
export interface NetworkSyncReport {
  name: string;
  /** true when the network was not desired and was deleted. */
  removed: boolean;
  /** Why nothing was written for this network (e.g. its underlay device is missing). */
  problem?: string;
  kinds: Record<EntryKind, KindCounts>;
}

/** Result of one LinuxNetworkDriver.sync(). */
export interface SyncReport {
  startedAt: string;
  durationMs: number;
  /** Time spent reading the kernel (`-json`), diffing, and writing (`-batch`). */
  phasesMs: { observe: number; diff: number; apply: number };
  networks: NetworkSyncReport[];
  /** Batch lines written (0 = the kernel already matched). */
  writes: number;
  /** Processes spawned (reads + writes). */
  spawns: number;
  /** Sum of repaired over all kinds and networks. */
  driftRepairs: number;
  /** Batch lines the kernel refused. */
  failedWrites: number;
  /** Refused writes (the first 20): the batch line and the tool's message. */
  errors: string[];
}

/** Minimal structured logger (pino-compatible call shape: fields first, then message). */
export interface Logger {
  debug?(fields: object, msg: string): void;
  info?(fields: object, msg: string): void;
  warn?(fields: object, msg: string): void;
}

/** Per kind of one network in a snapshot. */
export interface KindSnapshot {
  desired: number;
  /** Kernel count after the last sync: what it read, adjusted by the writes that succeeded. */
  actual: number;
  driftRepairsTotal: number;
}

/** Plain-JSON internal state for /metrics and /debug/state. */
export interface NetworkDriverSnapshot {
  netns: string | null;
  syncs: number;
  syncErrors: number;
  writesTotal: number;
  writeFailuresTotal: number;
  driftRepairsTotal: number;
  lastSync: { at: string; durationMs: number; ok: boolean; writes: number; error?: string } | null;
  /** Seconds since the last sync finished (null before the first). */
  lastSyncAgeSeconds: number | null;
  networks: Record<string, { kinds: Record<EntryKind, KindSnapshot> }>;
}

/**
 * What the agent needs of a host's overlay driver (LinuxNetworkDriver; fakes in tests): take the whole
 * desired state and converge to it, read back what the kernel holds, and show counters.
 */
export interface NetworkDriver {
  /** Reads the kernel, diffs against `desired` and batch-writes the difference; reports what it did. */
  sync(desired: HostNetworkState): Promise<SyncReport>;
  /** The kumo-owned dataplane as the kernel holds it now. */
  observe(): Promise<HostNetworkState>;
  /** Counters and per-network entry counts as of the last sync. */
  snapshot(): NetworkDriverSnapshot;
}
