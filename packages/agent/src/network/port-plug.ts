/**
 * Port plumbing: puts a network namespace behind a port (a veth pair, host end on the network's
 * bridge, peer as `eth0` with the port's MAC/MTU inside the port netns) and runs a one-shot DHCP
 * client there. `kumo port plug` uses it today; instances (runc, QEMU taps) reuse the same calls.
 */
import { createHash } from "node:crypto";
import { access, chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run, runOk } from "@kumo/runtime/proc";
import { nsArgs, runBatch } from "./batch.js";
import { normMac } from "./validate.js";

/** Where plugPort puts a port. */
export interface PlugPortOptions {
  /** Netns holding the bridge (the host); undefined = current netns. */
  hostNetns?: string;
  /** Netns of the port; created when absent. */
  portNetns: string;
  bridge: string;
  mac: string;
  mtu: number;
  /** Host-side veth name (≤ 15 chars); see portIfName(). */
  ifName: string;
}

/** Name of the device inside the port netns. */
export const PORT_DEVICE = "eth0";

/** Host-side veth name for a port id: `kp-` + 10 hex chars of its SHA-1 (always ≤ 15 chars). */
export function portIfName(portId: string): string {
  return "kp-" + createHash("sha1").update(portId).digest("hex").slice(0, 10);
}

/** Whether the named netns exists (iproute2 keeps a bind mount under /run/netns). */
export async function netnsExists(name: string): Promise<boolean> {
  return access(join("/run/netns", name)).then(
    () => true,
    () => false,
  );
}

const NS_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const DEV_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,14}$/;

/** Creates (idempotently) the port netns, veth pair, MAC/MTU, bridge attachment and brings links up. */
export async function plugPort(o: PlugPortOptions): Promise<void> {
  const mac = normMac(o.mac);
  if (!NS_RE.test(o.portNetns) || !DEV_RE.test(o.ifName) || !DEV_RE.test(o.bridge) || !mac) {
    throw new Error(`plugPort: invalid netns/ifName/bridge/mac: ${JSON.stringify(o)}`);
  }
  if (!(await netnsExists(o.portNetns))) await runOk("ip", ["netns", "add", o.portNetns]);
  const host = nsArgs(o.hostNetns);
  const [hostLink, portLink] = await Promise.all([
    run("ip", [...host, "-json", "link", "show", "dev", o.ifName]),
    run("ip", ["-n", o.portNetns, "-json", "link", "show", "dev", PORT_DEVICE]),
  ]);
  const h = hostLink.code === 0 ? (JSON.parse(hostLink.stdout) as { master?: string; link_netnsid?: number }[])[0] : undefined;
  const p = portLink.code === 0 ? (JSON.parse(portLink.stdout) as { address?: string }[])[0] : undefined;
  // Reuse a pair only if both ends are ours and the MAC matches; anything else is rebuilt, since
  // a half-made pair (crash mid-plug) cannot be told apart from a foreign device.
  const reusable = h !== undefined && p !== undefined && p.address === mac && h.link_netnsid !== undefined;
  if (!reusable) {
    if (h) await runOk("ip", [...host, "link", "del", "dev", o.ifName]);
    if (p) await runOk("ip", ["-n", o.portNetns, "link", "del", "dev", PORT_DEVICE]);
    await runOk("ip", [
      ...host,
      "link",
      "add",
      o.ifName,
      "mtu",
      String(o.mtu),
      "type",
      "veth",
      "peer",
      "name",
      PORT_DEVICE,
      "address",
      mac,
      "mtu",
      String(o.mtu),
      "netns",
      o.portNetns,
    ]);
  }
  const [hf, pf] = await Promise.all([
    runBatch("ip", o.hostNetns, [`link set dev ${o.ifName} mtu ${o.mtu} master ${o.bridge} up`]),
    runBatch("ip", o.portNetns, ["link set dev lo up", `link set dev ${PORT_DEVICE} mtu ${o.mtu} up`]),
  ]);
  const failed = [...hf.failures.values(), ...pf.failures.values(), hf.aborted, pf.aborted].filter(Boolean);
  if (failed.length) throw new Error(`plugPort ${o.portNetns}: ${failed.join("; ")}`);
}

/** Removes the veth pair and, unless keepNetns, the port netns and its /etc/netns dir. Idempotent. */
export async function unplugPort(o: { hostNetns?: string; portNetns: string; ifName: string; keepNetns?: boolean }): Promise<void> {
  // Without a name (a leftover namespace) the host end goes with the namespace: veth pairs die together.
  if (o.ifName) await run("ip", [...nsArgs(o.hostNetns), "link", "del", "dev", o.ifName]);
  if (o.keepNetns) return;
  if (await netnsExists(o.portNetns)) await runOk("ip", ["netns", "del", o.portNetns]);
  if (NS_RE.test(o.portNetns)) await rm(join("/etc/netns", o.portNetns), { recursive: true, force: true });
}

/** Runs `argv` inside a port netns (`ip netns exec`, so /etc/netns/<ns>/resolv.conf applies). */
export function portExec(portNetns: string, argv: string[], timeoutMs = 30_000) {
  return run("ip", ["netns", "exec", portNetns, ...argv], { timeoutMs });
}

/** The lease a DHCP client obtained and applied. */
export interface DhcpLease {
  ip: string;
  prefixLength: number;
  router?: string;
  dns: string[];
  domain?: string;
  mtu?: number;
  leaseSeconds?: number;
}

// The udhcpc hook: applies the lease in the port netns (udhcpc itself configures nothing) and
// prints it as `kumo-lease:KEY=VALUE` lines for runDhcpClient to parse.
const SCRIPT = `#!/bin/sh
case "$1" in
deconfig)
  ip addr flush dev "$interface" scope global
  ip link set dev "$interface" up ;;
bound|renew)
  ip addr flush dev "$interface" scope global
  ip addr add "$ip/$mask" dev "$interface"
  [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
  [ -n "$router" ] && ip route replace default via "\${router%% *}" dev "$interface"
  if [ -n "$KUMO_RESOLV" ]; then
    { [ -n "$domain" ] && echo "search $domain"; for s in $dns; do echo "nameserver $s"; done; } > "$KUMO_RESOLV.tmp"
    mv "$KUMO_RESOLV.tmp" "$KUMO_RESOLV"
  fi
  for kv in "ip=$ip" "mask=$mask" "router=$router" "dns=$dns" "domain=$domain" "mtu=$mtu" "lease=$lease"; do
    echo "kumo-lease:$kv"
  done ;;
esac
exit 0
`;

/** Options of runDhcpClient. */
export interface DhcpClientOptions {
  /** Where the hook script is written; default /run/kumo. */
  stateDir?: string;
  /** Give up after this long (udhcpc is killed); default 10 s. */
  timeoutMs?: number;
}

/**
 * Runs busybox udhcpc once in `portNetns` on eth0 (brought up first: udhcpc spins on a down link),
 * applies address, default route, MTU, and writes /etc/netns/<ns>/resolv.conf. Returns the lease.
 */
export async function runDhcpClient(portNetns: string, opts: DhcpClientOptions = {}): Promise<DhcpLease> {
  if (!NS_RE.test(portNetns)) throw new Error(`runDhcpClient: invalid netns ${portNetns}`);
  const dir = opts.stateDir ?? "/run/kumo";
  await mkdir(dir, { recursive: true });
  const script = join(dir, "udhcpc-hook.sh");
  // Written only when absent or different, and atomically: a concurrent udhcpc may be executing it.
  if ((await readFile(script, "utf8").catch(() => "")) !== SCRIPT) {
    const tmp = `${script}.${process.pid}.${Date.now()}`;
    await writeFile(tmp, SCRIPT, { mode: 0o755 });
    await chmod(tmp, 0o755);
    await rename(tmp, script);
  }
  const etc = join("/etc/netns", portNetns);
  await mkdir(etc, { recursive: true });
  await runOk("ip", ["-n", portNetns, "link", "set", "dev", PORT_DEVICE, "up"]);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const tries = Math.max(2, Math.floor(timeoutMs / 1000));
  const r = await run(
    "ip",
    [
      "netns",
      "exec",
      portNetns,
      "env",
      `KUMO_RESOLV=${join(etc, "resolv.conf")}`,
      "busybox",
      "udhcpc",
      "-i",
      PORT_DEVICE,
      "-f",
      "-q",
      "-n",
      "-t",
      String(tries),
      "-T",
      "1",
      "-O",
      "mtu",
      "-s",
      script,
    ],
    { timeoutMs: timeoutMs + 2000 },
  );
  const kv = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const m = /^kumo-lease:(\w+)=(.*)$/.exec(line);
    if (m) kv.set(m[1], m[2].trim());
  }
  const ip = kv.get("ip");
  if (r.code !== 0 || !ip)
    throw new Error(`udhcpc in ${portNetns} got no lease (exit ${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  const num = (k: string) => (kv.get(k) ? Number(kv.get(k)) : undefined);
  return {
    ip,
    prefixLength: num("mask") ?? 32,
    router: kv.get("router")?.split(" ")[0] || undefined,
    dns: (kv.get("dns") ?? "").split(" ").filter(Boolean),
    domain: kv.get("domain") || undefined,
    mtu: num("mtu"),
    leaseSeconds: num("lease"),
  };
}
