/**
 * One lab host's plumbing: a named netns, a veth pair (root end `<prefix>-v<i>` on the underlay
 * bridge, peer `eth0` inside), loopback up and the host's underlay address. No default route: the
 * agents only talk to the API server on the bridge address and to each other on the /24.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { netnsExists } from "../network/port-plug.js";
import { run, runOk } from "@kumo/runtime/proc";
import { runBatch } from "../network/batch.js";
import type { LabNames } from "./naming.js";
import { hostAddress, UNDERLAY_MTU, type Underlay } from "./underlay.js";

/** Name of the underlay device inside every host netns. */
export const HOST_UNDERLAY_DEV = "eth0";

/** A lab host's network identity. */
export interface HostNet {
  index: number;
  name: string;
  /** Same as name: hosts and their namespaces share one name. */
  netns: string;
  veth: string;
  /** Underlay address (no prefix length). */
  ip: string;
}

/** The host of index i, as it will be plumbed. */
export function hostNet(n: LabNames, u: Underlay, index: number): HostNet {
  return { index, name: n.host(index), netns: n.host(index), veth: n.veth(index), ip: hostAddress(u, index) };
}

/**
 * Creates the netns atomically: iproute2 opens /run/netns/NAME with O_EXCL, so of two concurrent
 * `host add` calls exactly one gets a given name. Returns false when it already existed.
 */
export async function createNetns(name: string): Promise<boolean> {
  const r = await run("ip", ["netns", "add", name]);
  if (r.code === 0) return true;
  if (/exists/i.test(r.stderr)) return false;
  throw new Error(`ip netns add ${name}: ${r.stderr.trim()}`);
}

/** Creates or repairs the host's netns, veth pair, addresses and links. Idempotent. */
export async function ensureHostNet(n: LabNames, u: Underlay, h: HostNet): Promise<void> {
  if (!(await netnsExists(h.netns))) await createNetns(h.netns);
  const [outer, inner] = await Promise.all([
    run("ip", ["-json", "link", "show", "dev", h.veth]),
    run("ip", ["-n", h.netns, "-json", "link", "show", "dev", HOST_UNDERLAY_DEV]),
  ]);
  type Link = { ifindex: number; link_index?: number; link_netnsid?: number };
  const o = outer.code === 0 ? (JSON.parse(outer.stdout) as Link[])[0] : undefined;
  const i = inner.code === 0 ? (JSON.parse(inner.stdout) as Link[])[0] : undefined;
  // Each end names the other's ifindex; anything else (a lone half after a crash, a peer in some
  // other netns) is rebuilt.
  const paired = o?.link_netnsid !== undefined && i !== undefined && o.link_index === i.ifindex && i.link_index === o.ifindex;
  if (!paired) {
    if (o) await runOk("ip", ["link", "del", "dev", h.veth]);
    if (i) await run("ip", ["-n", h.netns, "link", "del", "dev", HOST_UNDERLAY_DEV]);
    await runOk("ip", [
      "link",
      "add",
      h.veth,
      "mtu",
      String(UNDERLAY_MTU),
      "type",
      "veth",
      "peer",
      "name",
      HOST_UNDERLAY_DEV,
      "mtu",
      String(UNDERLAY_MTU),
      "netns",
      h.netns,
    ]);
  }
  const [rootB, nsB] = await Promise.all([
    runBatch("ip", undefined, [`link set dev ${h.veth} mtu ${UNDERLAY_MTU} master ${n.bridge} up`]),
    runBatch("ip", h.netns, [
      "link set dev lo up",
      `link set dev ${HOST_UNDERLAY_DEV} mtu ${UNDERLAY_MTU} up`,
      `addr replace ${h.ip}/24 dev ${HOST_UNDERLAY_DEV}`,
    ]),
  ]);
  const failed = [...rootB.failures.values(), ...nsB.failures.values(), rootB.aborted, nsB.aborted].filter(Boolean);
  if (failed.length) throw new Error(`host ${h.name}: ${failed.join("; ")}`);
  await dropStaleAddresses(h);
}

// `addr replace` adds ours; an address from an older subnet would keep a wrong route alive.
async function dropStaleAddresses(h: HostNet): Promise<void> {
  const out = (await runOk("ip", ["-n", h.netns, "-json", "-4", "addr", "show", "dev", HOST_UNDERLAY_DEV])).stdout;
  const infos = (JSON.parse(out || "[]") as { addr_info?: { local: string; prefixlen: number }[] }[])[0]?.addr_info ?? [];
  const stale = infos.filter((a) => a.local !== h.ip).map((a) => `addr del ${a.local}/${a.prefixlen} dev ${HOST_UNDERLAY_DEV}`);
  if (stale.length) await runBatch("ip", h.netns, stale);
}

/** Names of every link inside `netns` but lo (bridges, VXLAN, probe veths, taps: all the lab's). */
export async function linksIn(netns: string): Promise<string[]> {
  const r = await run("ip", ["-n", netns, "-json", "link", "show"]);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname).filter((name) => name !== "lo");
}

/**
 * Deletes a lab netns: first every device inside it, because netns teardown is asynchronous (a
 * probe's veth would outlive the call) and a foreign process would keep the namespace, with its
 * devices, alive after its name is gone; then the name, then its /etc/netns dir.
 */
export async function deleteNetns(netns: string): Promise<void> {
  const links = await linksIn(netns);
  if (links.length)
    await runBatch(
      "ip",
      netns,
      links.map((l) => `link del dev ${l}`),
    );
  if (await netnsExists(netns)) {
    const r = await run("ip", ["netns", "del", netns]);
    if (r.code !== 0 && (await netnsExists(netns))) throw new Error(`ip netns del ${netns}: ${r.stderr.trim()}`);
  }
  await rm(join("/etc/netns", netns), { recursive: true, force: true });
}

/** Deletes a root-netns link if it exists (a veth takes its peer with it). */
export async function deleteRootLink(dev: string): Promise<void> {
  const r = await run("ip", ["link", "del", "dev", dev]);
  if (r.code !== 0 && (await run("ip", ["link", "show", "dev", dev])).code === 0) {
    throw new Error(`ip link del ${dev}: ${r.stderr.trim()}`);
  }
}

/** Names under /run/netns (iproute2's named namespaces). */
export async function listNetns(): Promise<string[]> {
  return readdir("/run/netns").catch(() => [] as string[]);
}

/** Names of the root netns's links. */
export async function listRootLinks(): Promise<string[]> {
  const out = (await runOk("ip", ["-json", "link", "show"])).stdout;
  return (JSON.parse(out || "[]") as { ifname: string }[]).map((l) => l.ifname);
}
