/**
 * Names and addresses of the host lab, all derived from KUMO_HOME so that two clouds on one machine
 * never share a namespace, a link or a subnet. Kernel link names are limited to 15 characters, so
 * the prefix is short: "kumo" for the default home, else "k" + 6 hex of the path's SHA-256.
 */
import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { formatIPv4, type Cidr } from "@kumo/api";

/** KUMO_HOME when the environment does not set one. */
export const DEFAULT_HOME = "/var/lib/kumo";

/** The highest host index: host i gets underlay address gateway + i inside a /24. */
export const MAX_HOST_INDEX = 250;

/** Everything the lab names for one home. */
export interface LabNames {
  home: string;
  prefix: string;
  /** Underlay bridge in the root netns. */
  bridge: string;
  /** `$KUMO_HOME/hosts`: per-host dirs, the agents' CA and token, the underlay record. */
  hostsDir: string;
  /** Host (and netns) name of index i. */
  host(i: number): string;
  /** Root-side veth of host i (its peer inside the host netns is `eth0`). */
  veth(i: number): string;
  /** Index of a host name of this home, undefined for anything else. */
  hostIndex(name: string): number | undefined;
  /** Index of a root-side veth name of this home, undefined for anything else. */
  vethIndex(name: string): number | undefined;
  /** Whether a netns name is a per-port namespace of this home. */
  isPortNetns(name: string): boolean;
  /** `$KUMO_HOME/hosts/<name>`. */
  hostDir(name: string): string;
}

/** The short prefix of a home: "kumo" for /var/lib/kumo, else "k" + 6 hex chars. */
export function labPrefix(home: string): string {
  const abs = resolve(home);
  if (abs === DEFAULT_HOME) return "kumo";
  return "k" + createHash("sha256").update(abs).digest("hex").slice(0, 6);
}

/** Builds the names of one home (the home path is resolved first, so "x/" and "./x" agree). */
export function labNames(home: string): LabNames {
  const abs = resolve(home);
  const prefix = labPrefix(abs);
  const hostRe = new RegExp(`^${prefix}-host-([1-9][0-9]{0,2})$`);
  const vethRe = new RegExp(`^${prefix}-v([1-9][0-9]{0,2})$`);
  // Agents name probe namespaces `<prefix>-p-*`; `<host>-p-*` is matched too in case an agent is
  // given its host name as the prefix (which keeps one agent from sweeping another's probes).
  const portRe = new RegExp(`^${prefix}(-host-[0-9]+)?-p-[A-Za-z0-9._-]+$`);
  const index = (re: RegExp, s: string) => {
    const m = re.exec(s);
    const i = m ? Number(m[1]) : NaN;
    return i >= 1 && i <= MAX_HOST_INDEX ? i : undefined;
  };
  return {
    home: abs,
    prefix,
    bridge: `${prefix}-ul`,
    hostsDir: join(abs, "hosts"),
    host: (i) => `${prefix}-host-${i}`,
    veth: (i) => `${prefix}-v${i}`,
    hostIndex: (name) => index(hostRe, name),
    vethIndex: (name) => index(vethRe, name),
    isPortNetns: (name) => portRe.test(name),
    hostDir: (name) => join(abs, "hosts", name),
  };
}

// Underlay /24s come from 10.200.0.0–10.254.255.0: 14,080 slots, away from the 10.0–10.199
// ranges people and tests usually pick for overlay networks.
const FIRST = (10 << 24) + (200 << 16);
const SLOTS = 55 * 256;

/** Candidate underlay /24s for a prefix, preferred first: "kumo" starts at 10.200.0.0/24. */
export function candidateSubnets(prefix: string): Generator<string> {
  const start = prefix === "kumo" ? 0 : createHash("sha256").update(prefix).digest().readUInt32BE(0) % SLOTS;
  return (function* () {
    for (let k = 0; k < SLOTS; k++) yield `${formatIPv4(FIRST + ((start + k) % SLOTS) * 256)}/24`;
  })();
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}
