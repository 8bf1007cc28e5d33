/**
 * The lab's underlay: one bridge in the root netns holding the first address of a /24 that no
 * route on the machine uses yet. The choice is recorded in `$KUMO_HOME/hosts/underlay.json` and
 * kept across `kumo down`, because the API server listens on the bridge address and its
 * certificate (made once, on first start) names that address.
 *
 * No IP forwarding is needed: hosts reach each other across the bridge (layer 2) and the API server
 * by local delivery to the bridge address. Where br_netfilter passes bridged frames through an
 * iptables FORWARD chain with policy DROP (Docker sets one), host-to-host traffic is dropped.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatIPv4, parseCidr, parseIPv4, type Cidr } from "@kumo/api";
import { run, runOk } from "@kumo/runtime/proc";
import { runBatch } from "../network/batch.js";
import { candidateSubnets, cidrsOverlap, labNames, type LabNames } from "./naming.js";

/** MTU of the underlay bridge and every host veth (the overlay subtracts 50 for VXLAN). */
export const UNDERLAY_MTU = 1500;

/** The underlay of one home. */
export interface Underlay {
  bridge: string;
  /** The /24, e.g. "10.200.0.0/24". */
  cidr: string;
  /** The bridge's address (first of the /24): agents reach the API server here. */
  gateway: string;
}

/** Underlay address of host `index`: gateway + index (host 1 → .2). */
export function hostAddress(u: Underlay, index: number): string {
  return parseCidr(u.cidr)!.nth(1 + index);
}

const recordPath = (n: LabNames) => join(n.hostsDir, "underlay.json");

/** The recorded underlay of a home, if `ensureUnderlay` ever ran for it. */
export async function readUnderlay(home: string): Promise<Underlay | undefined> {
  const n = labNames(home);
  const raw = await readFile(recordPath(n), "utf8").catch(() => undefined);
  if (!raw) return undefined;
  const u = JSON.parse(raw) as Underlay;
  return u.bridge === n.bridge && parseCidr(u.cidr) ? u : undefined;
}

/** IPv4 destinations (/8 or longer) of the routes in every table of the root netns, except via `ownDev`. */
export async function routedPrefixes(ownDev: string): Promise<Cidr[]> {
  const out = (await runOk("ip", ["-json", "-4", "route", "show", "table", "all"])).stdout;
  const routes = JSON.parse(out || "[]") as { dst?: string; dev?: string }[];
  const cidrs: Cidr[] = [];
  for (const r of routes) {
    if (!r.dst || r.dst === "default" || r.dev === ownDev) continue;
    const [ip, len] = r.dst.split("/");
    const c = networkOf(ip, len === undefined ? 32 : Number(len));
    // Shorter than /8 is default-like (a VPN's 0.0.0.0/1 + 128.0.0.0/1), not a subnet in use.
    if (c && c.prefix >= 8) cidrs.push(c);
  }
  return cidrs;
}

// Route keys may carry host bits (a local route to 127.0.0.1/8, say): normalise to the network.
function networkOf(ip: string, len: number): Cidr | undefined {
  const a = parseIPv4(ip);
  if (a === undefined || !(len >= 0 && len <= 32)) return undefined;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return parseCidr(`${formatIPv4((a & mask) >>> 0)}/${len}`);
}

/** First candidate /24 of `prefix` that overlaps none of `used`. */
export function pickSubnet(prefix: string, used: Cidr[]): string {
  for (const s of candidateSubnets(prefix)) {
    const c = parseCidr(s)!;
    if (!used.some((u) => cidrsOverlap(u, c))) return s;
  }
  throw new Error("no free /24 left in 10.200.0.0-10.254.255.255 for the lab underlay");
}

/**
 * Creates (idempotently) the underlay bridge with its address, MTU and link up. Call it before the
 * API server starts: the server listens on `gateway`, which must exist first.
 */
export async function ensureUnderlay(home: string): Promise<Underlay> {
  const n = labNames(home);
  const used = await routedPrefixes(n.bridge);
  let u = await readUnderlay(home);
  if (u) {
    const c = parseCidr(u.cidr)!;
    const clash = used.find((r) => cidrsOverlap(r, c));
    if (clash) {
      throw new Error(
        `underlay ${u.cidr} of ${n.home} now overlaps a route to ${clash.first}/${clash.prefix} on this machine; ` +
          `remove that route, or delete ${recordPath(n)} and ${join(n.home, "pki")} to pick a new subnet ` +
          "(the server certificate names the old address)",
      );
    }
  } else {
    const cidr = pickSubnet(n.prefix, used);
    u = { bridge: n.bridge, cidr, gateway: parseCidr(cidr)!.nth(1) };
    // Recorded before the bridge exists, so a crash in between cannot leave an unrecorded bridge.
    await mkdir(n.hostsDir, { recursive: true });
    await writeFile(recordPath(n) + ".tmp", JSON.stringify(u, null, 1) + "\n");
    await rename(recordPath(n) + ".tmp", recordPath(n));
  }
  const exists = (await run("ip", ["link", "show", "dev", n.bridge])).code === 0;
  if (!exists) {
    const r = await run("ip", ["link", "add", n.bridge, "type", "bridge"]);
    if (r.code !== 0 && !/exists/i.test(r.stderr)) throw new Error(`ip link add ${n.bridge} type bridge: ${r.stderr.trim()}`);
  }
  const b = await runBatch("ip", undefined, [
    `link set dev ${n.bridge} mtu ${UNDERLAY_MTU} up`,
    `addr replace ${u.gateway}/24 dev ${n.bridge}`,
  ]);
  const failed = [...b.failures.values(), b.aborted].filter(Boolean);
  if (failed.length) throw new Error(`underlay ${n.bridge}: ${failed.join("; ")}`);
  return u;
}
