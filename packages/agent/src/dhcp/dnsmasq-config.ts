/**
 * Pure builders for one network's dnsmasq: file paths, the command line, and the two data files
 * (static DHCP hosts, DNS names). The command line changes only when the service shape changes
 * (interface, subnet, options); host changes only touch the files, which dnsmasq re-reads on
 * SIGHUP. Comparing argv is therefore the whole "must I restart?" decision.
 */
import { isIPv4 } from "node:net";
import { join } from "node:path";
import type { DhcpNetworkConfig } from "./types.js";

/** Files of one network's dnsmasq under the driver's state dir. */
export interface DnsmasqPaths {
  dir: string;
  hostsFile: string;
  addnHosts: string;
  leaseFile: string;
  logFile: string;
  pidFile: string;
}

/** Paths for `network` under `stateDir` (one sub-directory per network). */
export function dnsmasqPaths(stateDir: string, network: string): DnsmasqPaths {
  const dir = join(stateDir, network);
  return {
    dir,
    hostsFile: join(dir, "dhcp-hosts"),
    addnHosts: join(dir, "addn-hosts"),
    leaseFile: join(dir, "leases"),
    logFile: join(dir, "dnsmasq.log"),
    pidFile: join(dir, "dnsmasq.pid"),
  };
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;
const LABEL_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const LEASE_RE = /^(infinite|\d+[smhdw]?)$/;

/** IPv4 network address and dotted mask of a CIDR; throws when malformed. */
export function splitCidr(cidr: string): { network: string; mask: string; prefix: number } {
  const [ip, len] = cidr.split("/");
  const prefix = Number(len);
  if (!ip || !isIPv4(ip) || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const n = ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const dot = (v: number) => [24, 16, 8, 0].map((s) => (v >>> s) & 255).join(".");
  return { network: dot((n & bits) >>> 0), mask: dot(bits), prefix };
}

/** The DNS domain of a network: `domain` or `<network>.<project>.kumo`, lower case. */
export const domainOf = (c: DhcpNetworkConfig): string => (c.domain ?? `${c.network}.${c.project}.kumo`).toLowerCase();

/** Throws listing every malformed field; every value below ends up on a command line or in a file. */
export function validateDhcpConfig(c: DhcpNetworkConfig): void {
  const p: string[] = [];
  const ip4 = (v: string | undefined, f: string) => {
    if (v !== undefined && !isIPv4(v)) p.push(`${f}: not an IPv4 address: ${JSON.stringify(v)}`);
  };
  if (!NAME_RE.test(c.network)) p.push(`network: must match ${NAME_RE}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/.test(c.interface)) p.push("interface: not a device name");
  try {
    splitCidr(c.cidr);
  } catch (e) {
    p.push(`cidr: ${(e as Error).message}`);
  }
  ip4(c.serverAddress, "serverAddress");
  ip4(c.gateway, "gateway");
  (c.dnsServers ?? []).forEach((s, i) => ip4(s, `dnsServers[${i}]`));
  if (c.mtu !== undefined && (!Number.isInteger(c.mtu) || c.mtu < 576 || c.mtu > 65535)) p.push("mtu: must be 576..65535");
  if (c.leaseTime !== undefined && !LEASE_RE.test(c.leaseTime)) p.push("leaseTime: like 12h or infinite");
  if (!DOMAIN_RE.test(domainOf(c))) p.push(`domain: not a DNS name: ${domainOf(c)}`);
  c.hosts.forEach((h, i) => {
    if (!MAC_RE.test(h.mac.toLowerCase())) p.push(`hosts[${i}].mac: not a MAC`);
    ip4(h.ip, `hosts[${i}].ip`);
    if (!LABEL_RE.test(h.name.toLowerCase())) p.push(`hosts[${i}].name: not a DNS label`);
  });
  (c.dnsRecords ?? []).forEach((r, i) => {
    ip4(r.ip, `dnsRecords[${i}].ip`);
    if (!LABEL_RE.test(r.name.toLowerCase())) p.push(`dnsRecords[${i}].name: not a DNS label`);
  });
  if (p.length) throw new Error(`invalid DHCP config for ${c.network}: ${p.join("; ")}`);
}

/** dnsmasq arguments (without the program name) for one network. */
export function dnsmasqArgs(c: DhcpNetworkConfig, paths: DnsmasqPaths): string[] {
  const { network, mask } = splitCidr(c.cidr);
  const tag = c.network;
  const domain = domainOf(c);
  const dns = c.dnsServers?.length ? c.dnsServers : [c.serverAddress];
  return [
    "--conf-file=/dev/null",
    "--no-hosts",
    "--no-resolv",
    `--interface=${c.interface}`,
    "--except-interface=lo",
    "--bind-interfaces",
    // static: only MACs in the hosts file get an address; all others are ignored.
    `--dhcp-range=set:${tag},${network},static,${mask},${c.leaseTime ?? "12h"}`,
    "--dhcp-authoritative",
    `--dhcp-hostsfile=${paths.hostsFile}`,
    `--dhcp-leasefile=${paths.leaseFile}`,
    ...(c.gateway ? [`--dhcp-option=tag:${tag},option:router,${c.gateway}`] : []),
    `--dhcp-option=tag:${tag},option:dns-server,${dns.join(",")}`,
    ...(c.mtu ? [`--dhcp-option-force=tag:${tag},option:mtu,${c.mtu}`] : []),
    `--domain=${domain}`,
    `--local=/${domain}/`,
    `--addn-hosts=${paths.addnHosts}`,
    `--log-facility=${paths.logFile}`,
    "--log-dhcp",
    `--pid-file=${paths.pidFile}`,
  ];
}

/** Content of the `--dhcp-hostsfile`: `mac,ip,name` per local port, sorted so equal sets compare equal. */
export function hostsFileContent(c: DhcpNetworkConfig): string {
  return (
    c.hosts
      .map((h) => `${h.mac.toLowerCase()},${h.ip},${h.name.toLowerCase()}`)
      .sort()
      .join("\n") + "\n"
  );
}

/** Content of the `--addn-hosts` file: `ip fqdn short` for local ports and DNS-only records. */
export function addnHostsContent(c: DhcpNetworkConfig): string {
  const d = domainOf(c);
  const all = [...c.hosts, ...(c.dnsRecords ?? [])].map((h) => `${h.ip} ${h.name.toLowerCase()}.${d} ${h.name.toLowerCase()}`);
  return [...new Set(all)].sort().join("\n") + "\n";
}
