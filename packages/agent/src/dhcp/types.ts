/**
 * Plain data for the per-network DHCP/DNS server (dnsmasq) of one host: what the agent asks for,
 * and what the driver reads back. No API types: the agent maps Subnet/Port objects onto these.
 */

/** A port served on this host: static DHCP lease and DNS name. */
export interface DhcpHost {
  mac: string;
  ip: string;
  /** Port or instance name (a DNS label); resolves as `<name>` and `<name>.<domain>`. */
  name: string;
}

/** A DNS-only name (ports of the same network bound to other hosts). */
export interface DnsRecord {
  ip: string;
  name: string;
}

/** Desired DHCP/DNS service of one network on this host. */
export interface DhcpNetworkConfig {
  /** Network name; also the dnsmasq tag and the state sub-directory. */
  network: string;
  project: string;
  /** Bridge to serve on (`kbr-<vni>`). */
  interface: string;
  /** Subnet, CIDR (IPv4). */
  cidr: string;
  /** This host's address on the bridge: advertised DNS server unless dnsServers is given. */
  serverAddress: string;
  /** Router option; omitted = no default route for clients. */
  gateway?: string;
  dnsServers?: string[];
  /** MTU option (forced: clients get it even if they do not ask). */
  mtu?: number;
  /** dnsmasq lease time, e.g. "12h" (default) or "infinite". */
  leaseTime?: string;
  /** DNS domain; default `<network>.<project>.kumo`. */
  domain?: string;
  /** Ports bound to this host: the only MACs that get a lease (others: "no address available"). */
  hosts: DhcpHost[];
  /** Extra names for DNS only. */
  dnsRecords?: DnsRecord[];
}

/** One line of the dnsmasq lease file (`expiry mac ip name client-id`). */
export interface DhcpLeaseEntry {
  /** Unix seconds; 0 = infinite. */
  expiry: number;
  mac: string;
  ip: string;
  /** "*" in the file becomes undefined. */
  name?: string;
  clientId?: string;
}

/** DHCP message counts parsed from the `--log-dhcp` log (cumulative over the log file). */
export interface DhcpCounters {
  discover: number;
  offer: number;
  request: number;
  ack: number;
  nak: number;
  decline: number;
  release: number;
  inform: number;
  /** DISCOVERs refused with "no address available" (unknown MAC). */
  noAddress: number;
}

/** Observed state of one network's dnsmasq. */
export interface DnsmasqNetworkState {
  network: string;
  /** Pid from the pid file, if that process is alive and is our dnsmasq. */
  pid: number | null;
  running: boolean;
  leases: DhcpLeaseEntry[];
  counters: DhcpCounters;
  /** Static DHCP hosts currently in the hosts file. */
  hosts: number;
}

/** Observed state of every dnsmasq under the driver's state dir. */
export interface DnsmasqState {
  networks: DnsmasqNetworkState[];
}

/** What ensure() did. */
export type DnsmasqAction = "started" | "adopted" | "reloaded" | "restarted" | "unchanged";

/** Plain-JSON internal state of a DHCP driver (see dnsmasq.ts for metric names); leases/counters as of the last observe(). */
export interface DnsmasqSnapshot {
  totals: { starts: number; restarts: number; reloads: number; adoptions: number; stops: number; releases: number };
  networks: Record<
    string,
    {
      pid: number | null;
      running: boolean;
      leases: number;
      hosts: number;
      counters: DhcpCounters;
      lastAction?: DnsmasqAction;
      lastActionAt?: string;
    }
  >;
}

/**
 * What the agent needs of a host's DHCP/DNS driver (DnsmasqDriver; fakes in tests): one server per network,
 * each converged on its own, so one network's bad config fails only that network.
 */
export interface DhcpDriver {
  /** Starts, adopts, reloads or restarts the network's server so it serves `c`. */
  ensure(c: DhcpNetworkConfig): Promise<DnsmasqAction>;
  /** Stops the network's server and deletes its files. */
  remove(network: string): Promise<void>;
  /** Reads every network's server (or only `network`'s): liveness, leases, counters; feeds snapshot(). */
  observe(network?: string): Promise<DnsmasqState>;
  /** State as of the last observe(). */
  snapshot(): DnsmasqSnapshot;
  /** Stops every server (files are kept). */
  stopAll(): Promise<void>;
  /** The network's lease file (the instance flow waits on it for a VM's lease). */
  leaseFile(network: string): string;
}
