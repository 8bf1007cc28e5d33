/**
 * Checks and normalises desired state before anything reaches a batch file. Every value ends up
 * as a token in an `ip -batch` / `bridge -batch` line, so a stray space or newline would inject a
 * command: validation is the injection guard as well as the input check. Normalisation makes the
 * desired values byte-equal to what `ip -json` prints, so an unchanged network diffs to nothing.
 */
import { isIPv4, isIPv6 } from "node:net";
import { BRIDGE_PREFIX, VXLAN_PREFIX, type HostNetworkState, type NetworkDataplane } from "./types.js";

/** Thrown when desired state is malformed; `problems` lists every field at fault. */
export class InvalidDesiredState extends Error {
  /** One "path: message" per problem. */
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid desired network state: ${problems.join("; ")}`);
    this.name = "InvalidDesiredState";
    this.problems = problems;
  }
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DEV_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

/** Canonical text of an IP (IPv6 compressed, lower case, as iproute2 prints it); undefined if not an IP. */
export function normIp(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  if (isIPv6(ip)) return new URL(`http://[${ip}]`).hostname.slice(1, -1);
  return undefined;
}

/** Canonical MAC (lower case); undefined if malformed. */
export function normMac(mac: string): string | undefined {
  const m = mac.toLowerCase();
  return MAC_RE.test(m) ? m : undefined;
}

/** Canonical CIDR `ip/len`; undefined if malformed. */
export function normCidr(cidr: string): string | undefined {
  const [ip, len, extra] = cidr.split("/");
  if (ip === undefined || len === undefined || extra !== undefined || !/^\d{1,3}$/.test(len)) return undefined;
  const n = normIp(ip);
  const max = n && isIPv4(n) ? 32 : 128;
  return n && Number(len) <= max ? `${n}/${Number(len)}` : undefined;
}

/** Canonical route destination as `ip route` prints it ("default", host routes without /32). */
export function normRouteDst(dst: string): string | undefined {
  if (dst === "default") return dst;
  const c = normCidr(dst) ?? (normIp(dst) ? `${normIp(dst)}/${isIPv4(dst) ? 32 : 128}` : undefined);
  if (!c) return undefined;
  return c.endsWith("/32") && isIPv4(c.slice(0, -3)) ? c.slice(0, -3) : c.endsWith("/128") ? c.slice(0, -4) : c;
}

/** Validates and normalises one network; pushes problems instead of throwing. */
function checkNetwork(n: NetworkDataplane, at: string, problems: string[]): NetworkDataplane {
  const bad = (field: string, msg: string) => problems.push(`${at}.${field}: ${msg}`);
  if (!NAME_RE.test(n.name)) bad("name", `must match ${NAME_RE}`);
  if (!Number.isInteger(n.vni) || n.vni < 1 || n.vni > 16777215) bad("vni", "must be 1..16777215");
  if (!Number.isInteger(n.mtu) || n.mtu < 68 || n.mtu > 65535) bad("mtu", "must be 68..65535");
  if (!DEV_RE.test(n.bridge) || !n.bridge.startsWith(BRIDGE_PREFIX)) bad("bridge", `must start with ${BRIDGE_PREFIX}, ≤ 15 chars`);
  if (!DEV_RE.test(n.vxlan) || !n.vxlan.startsWith(VXLAN_PREFIX)) bad("vxlan", `must start with ${VXLAN_PREFIX}, ≤ 15 chars`);
  if (!DEV_RE.test(n.underlayDev)) bad("underlayDev", "must be a device name");
  const port = n.dstPort ?? 8472;
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad("dstPort", "must be 1..65535");
  const ip = (v: string, f: string) => normIp(v) ?? (bad(f, `not an IP: ${JSON.stringify(v)}`), v);
  const mac = (v: string, f: string) => normMac(v) ?? (bad(f, `not a MAC: ${JSON.stringify(v)}`), v);
  const uniq = <T>(list: T[], key: (t: T) => string, f: string, same: (a: T, b: T) => boolean): T[] => {
    const seen = new Map<string, T>();
    for (const t of list) {
      const prev = seen.get(key(t));
      if (prev && !same(prev, t)) bad(f, `conflicting entries for ${key(t)}`);
      seen.set(key(t), t);
    }
    return [...seen.values()];
  };
  return {
    ...n,
    dstPort: port,
    localVtep: ip(n.localVtep, "localVtep"),
    addresses: uniq(
      n.addresses.map((a, i) => normCidr(a) ?? (bad(`addresses[${i}]`, `not a CIDR: ${JSON.stringify(a)}`), a)),
      (a) => a,
      "addresses",
      () => true,
    ),
    floodPeers: uniq(
      n.floodPeers.map((p, i) => ip(p, `floodPeers[${i}]`)),
      (p) => p,
      "floodPeers",
      () => true,
    ),
    fdb: uniq(
      n.fdb.map((e, i) => ({ mac: mac(e.mac, `fdb[${i}].mac`), dst: ip(e.dst, `fdb[${i}].dst`) })),
      (e) => e.mac,
      "fdb",
      (a, b) => a.dst === b.dst,
    ),
    neighbours: uniq(
      n.neighbours.map((e, i) => ({ ip: ip(e.ip, `neighbours[${i}].ip`), mac: mac(e.mac, `neighbours[${i}].mac`) })),
      (e) => e.ip,
      "neighbours",
      (a, b) => a.mac === b.mac,
    ),
    routes: uniq(
      (n.routes ?? []).map((r, i) => {
        // IPv4 only: the driver reads routes back with `ip route show` (inet), so an IPv6 route would
        // never be seen and would be rewritten on every sync.
        const dst = normRouteDst(r.dst) ?? (bad(`routes[${i}].dst`, `not a destination: ${JSON.stringify(r.dst)}`), r.dst);
        if (dst.includes(":") || (r.via ?? "").includes(":")) bad(`routes[${i}]`, "IPv4 routes only");
        return r.via === undefined ? { dst } : { dst, via: ip(r.via, `routes[${i}].via`) };
      }),
      (r) => r.dst,
      "routes",
      (a, b) => a.via === b.via,
    ),
  };
}

/** Returns a normalised copy of `desired` or throws InvalidDesiredState listing every problem. */
export function validateDesired(desired: HostNetworkState): HostNetworkState {
  const problems: string[] = [];
  const networks = desired.networks.map((n, i) => checkNetwork(n, `networks[${i}]`, problems));
  for (const field of ["name", "vni", "bridge", "vxlan"] as const) {
    const seen = new Set<unknown>();
    for (const n of networks) {
      if (seen.has(n[field])) problems.push(`networks: duplicate ${field} ${String(n[field])}`);
      seen.add(n[field]);
    }
  }
  if (problems.length) throw new InvalidDesiredState(problems);
  return { networks };
}
