/**
 * What the instance flow needs from the rest of the agent, as narrow interfaces (so the flow is
 * unit-tested with fakes): whether a network's dataplane is up on this host (bridge programmed by
 * the network reconcile, dnsmasq serving), the network's DHCP leases, and netns plumbing.
 */
import { type FSWatcher, watch } from "node:fs";
import { access } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { run } from "@kumo/runtime/proc";
import { readLeaseFile } from "../dhcp/dnsmasq-log.js";
import type { DhcpDriver, DhcpLeaseEntry, DhcpNetworkConfig } from "../dhcp/types.js";
import type { NetworkDriver } from "../network/types.js";
import { plugPort, runDhcpClient, unplugPort, type DhcpClientOptions, type DhcpLease, type PlugPortOptions } from "../network/port-plug.js";
import type { DesiredHost } from "./desired.js";

/** A network's dataplane on this host, as the instance flow sees it. */
export interface NetworkState {
  ready: boolean;
  /** Condition reason when not ready. */
  reason: string;
  message: string;
  bridge?: string;
  mtu?: number;
}

/** The host's network dataplane (read side). */
export interface InstanceDataplane {
  /** Is network `ns/name` programmed here (bridge up, dnsmasq running, and serving `mac` when given)? */
  networkState(ns: string, network: string, mac?: string): NetworkState;
  /** Current DHCP leases of network `ns/name` on this host. */
  leases(ns: string, network: string): Promise<DhcpLeaseEntry[]>;
  /** Notifies changes to network `ns/name`'s leases on this host. */
  watchLeases(ns: string, network: string): FileWatch;
}

/** Netns plumbing the container flow uses (port-plug.ts in production). */
export interface NetOps {
  plug(o: PlugPortOptions): Promise<void>;
  unplug(o: { portNetns: string; ifName: string }): Promise<void>;
  dhcp(netns: string, o: DhcpClientOptions): Promise<DhcpLease>;
  /** Does eth0 in the netns hold ip (an adopted container keeps its address)? */
  hasAddress(netns: string, ip: string): Promise<boolean>;
  fileExists(path: string): Promise<boolean>;
}

/** dnsmasq's lease time for every network (dnsmasq-config's default): a lease was granted at expiry − this. */
export const LEASE_SECONDS = 12 * 3600;

/** The real NetOps (the agent already runs inside the host netns, so hostNetns stays undefined). */
export const linuxNetOps: NetOps = {
  plug: plugPort,
  unplug: (o) => unplugPort(o),
  dhcp: runDhcpClient,
  hasAddress: async (netns, ip) => {
    const r = await run("ip", ["-n", netns, "-json", "-4", "addr", "show", "dev", "eth0"]);
    if (r.code !== 0) return false;
    const links = JSON.parse(r.stdout || "[]") as { addr_info?: { local?: string }[] }[];
    return links.some((l) => l.addr_info?.some((a) => a.local === ip));
  },
  fileExists: (p) =>
    access(p).then(
      () => true,
      () => false,
    ),
};

/** Inputs of agentDataplane. */
export interface AgentDataplaneOptions {
  /** The network loop's last desired state. */
  desired: () => DesiredHost | undefined;
  network: Pick<NetworkDriver, "snapshot">;
  dhcp: Pick<DhcpDriver, "snapshot" | "leaseFile">;
  /** What the network's DHCP server was last made to serve (the dhcp loop's), by dnsmasq name. */
  served: (dhcpName: string) => DhcpNetworkConfig | undefined;
}

/** InstanceDataplane over the agent's desired state, network driver and DHCP driver. */
export function agentDataplane(o: AgentDataplaneOptions): InstanceDataplane {
  const dhcpName = (ns: string, net: string) => `${ns}.${net}`.replace(/\./g, "_");
  return {
    networkState(ns, network, mac) {
      const name = `${ns}.${network}`;
      const d = o.desired();
      const dp = d?.dataplane.networks.find((n) => n.name === name);
      if (!dp) {
        const p = d?.problems.find((x) => x.network === `${ns}/${network}`);
        return {
          ready: false,
          reason: p?.reason ?? "NotProgrammed",
          message: p ? `network ${network}: ${p.message}` : `network ${network} is not programmed on this host yet`,
        };
      }
      const bridge = o.network.snapshot().networks[name]?.kinds.bridge;
      if (!bridge || bridge.actual < 1)
        return {
          ready: false,
          reason: "BridgeMissing",
          message: `bridge ${dp.bridge} of network ${network} is not up yet`,
          bridge: dp.bridge,
        };
      // The agent creates its DHCP port in the same pass; until IPAM gives it an address there is no
      // dnsmasq, and a DHCP client started now would only time out and retry.
      if (d!.missingDhcpPorts.some((m) => m.namespace === ns && m.network === network)) {
        return {
          ready: false,
          reason: "DhcpNotReady",
          message: `waiting for this host's DHCP port on network ${network}`,
          bridge: dp.bridge,
        };
      }
      const cfg = d!.dhcp.find((c) => c.network === dhcpName(ns, network));
      const running = o.dhcp.snapshot().networks[dhcpName(ns, network)]?.running;
      if (cfg && !running)
        return { ready: false, reason: "DhcpNotRunning", message: `dnsmasq for network ${network} is not running yet`, bridge: dp.bridge };
      // The dhcp loop may not have applied the port's binding to dnsmasq yet (this pass reads newer informer
      // data): a DISCOVER now would get "no address available" and cost a 1 s retry.
      const served = cfg && o.served(cfg.network);
      if (cfg && mac && !served?.hosts.some((h) => h.mac.toLowerCase() === mac.toLowerCase())) {
        return { ready: false, reason: "DhcpHostPending", message: `dnsmasq on this host does not serve ${mac} yet`, bridge: dp.bridge };
      }
      const message = `bridge ${dp.bridge} up${cfg ? ", dnsmasq serving" : ""}`;
      return { ready: true, reason: "BridgeUp", message, bridge: dp.bridge, mtu: dp.mtu };
    },
    leases: (ns, network) => readLeaseFile(o.dhcp.leaseFile(dhcpName(ns, network))),
    watchLeases: (ns, network) => watchFile(o.dhcp.leaseFile(dhcpName(ns, network))),
  };
}

/** Change notifications for one file, kept from before the first read so no change is missed. */
export interface FileWatch {
  /**
   * Resolves at once if the file changed since the last call, else at its next change or after `timeoutMs`;
   * rejects (AbortError) on `signal`.
   */
  next(timeoutMs: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

/**
 * Watches `file` through its directory (dnsmasq may create it late) with inotify: a guest's lease is
 * seen as soon as dnsmasq writes it, not at the next poll. Without the directory, `next` is a sleep.
 */
export function watchFile(file: string): FileWatch {
  let changed = false;
  let wake: (() => void) | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_type, name) => {
      if (name !== basename(file)) return;
      changed = true;
      wake?.();
    });
    watcher.on("error", () => undefined); // the timeout still ends each wait
  } catch {
    // No directory yet: callers fall back to polling at their timeout.
  }
  return {
    next: (timeoutMs, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(abortError());
        const done = (err?: Error) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          if (wake === done) wake = undefined; // a later wait may have taken over (races over several files)
          changed = false;
          if (err) reject(err);
          else resolve();
        };
        const onAbort = () => done(abortError());
        const timer = setTimeout(done, timeoutMs);
        signal.addEventListener("abort", onAbort, { once: true });
        if (changed) done();
        else wake = done;
      }),
    close: () => {
      watcher?.close();
      wake?.(); // a wait still pending (the loser of a race) ends now, not at its timeout
    },
  };
}

const abortError = () => Object.assign(new Error("aborted"), { name: "AbortError" });
