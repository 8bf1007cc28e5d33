/**
 * DnsmasqDriver: one dnsmasq per network on this host (in its netns), serving static leases for
 * the ports bound here and DNS names for the whole network. Host changes go through the files and
 * SIGHUP (~4 ms, no lease loss); only a changed command line restarts the daemon. After an agent
 * restart a running dnsmasq is adopted (pid file + /proc cmdline + netns check), never doubled.
 *
 * snapshot() feeds /metrics and /debug/state; suggested Prometheus names (label network):
 *   kumo_agent_dnsmasq_up                 ← networks[n].running (1/0)
 *   kumo_agent_dhcp_leases                ← networks[n].leases
 *   kumo_agent_dhcp_hosts                 ← networks[n].hosts
 *   kumo_agent_dhcp_messages_total{type}  ← networks[n].counters.{discover,offer,request,ack,nak,decline,release,inform}
 *   kumo_agent_dhcp_no_address_total      ← networks[n].counters.noAddress
 *   kumo_agent_dnsmasq_starts_total / _restarts_total / _reloads_total / _adoptions_total / _stops_total ← totals.*
 *   kumo_agent_dhcp_releases_total        ← totals.releases (stale leases released for removed ports)
 */
import { spawn } from "node:child_process";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pidAlive, procCmdline, procInNetns, readPidFile, run, terminate } from "@kumo/runtime/proc";
import type { Logger } from "../network/types.js";
import { addnHostsContent, dnsmasqArgs, dnsmasqPaths, hostsFileContent, validateDhcpConfig, type DnsmasqPaths } from "./dnsmasq-config.js";
import { LogCounter, readLeaseFile, zeroCounters } from "./dnsmasq-log.js";
import type {
  DhcpDriver,
  DhcpLeaseEntry,
  DhcpNetworkConfig,
  DnsmasqAction,
  DnsmasqNetworkState,
  DnsmasqSnapshot,
  DnsmasqState,
} from "./types.js";

/** Options of DnsmasqDriver. */
export interface DnsmasqDriverOptions {
  /** One sub-directory per network; must be traversable by dnsmasq's unprivileged user. */
  stateDir: string;
  /** Netns to run dnsmasq in (the host); undefined = current netns. */
  netns?: string;
  /** `--user`; default: dnsmasq's own (it drops to nobody and re-reads files as that user). */
  user?: string;
  logger?: Logger;
}

export type { DnsmasqAction, DnsmasqSnapshot } from "./types.js";

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

/** Runs and observes the per-network dnsmasq daemons of one host. */
export class DnsmasqDriver implements DhcpDriver {
  private readonly opts: DnsmasqDriverOptions;
  private readonly log: Logger;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly counters = new Map<string, LogCounter>();
  private readonly last = new Map<string, { action: DnsmasqAction; at: string }>();
  private observed: DnsmasqState = { networks: [] };
  private totals = { starts: 0, restarts: 0, reloads: 0, adoptions: 0, stops: 0, releases: 0 };

  constructor(opts: DnsmasqDriverOptions) {
    this.opts = opts;
    this.log = opts.logger ?? {};
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Pid of our running dnsmasq for `paths` (pid file, alive, cmdline names our pid file, right netns). */
  private async ourPid(paths: DnsmasqPaths): Promise<{ pid: number; args: string[] } | undefined> {
    const pid = await readPidFile(paths.pidFile);
    if (!pid || !(await pidAlive(pid))) return undefined;
    const argv = await procCmdline(pid);
    if (!argv.includes(`--pid-file=${paths.pidFile}`) || !(await procInNetns(pid, this.opts.netns))) return undefined;
    return { pid, args: argv.slice(1) };
  }

  /** Starts, adopts, reloads (SIGHUP) or restarts the network's dnsmasq so it serves `c`. */
  ensure(c: DhcpNetworkConfig): Promise<DnsmasqAction> {
    return this.serial(async () => {
      validateDhcpConfig(c);
      const paths = dnsmasqPaths(this.opts.stateDir, c.network);
      await this.prepareDirs(paths.dir);
      const args = [...dnsmasqArgs(c, paths), ...(this.opts.user ? [`--user=${this.opts.user}`] : [])];
      const changed =
        (await writeIfChanged(paths.hostsFile, hostsFileContent(c))) | (await writeIfChanged(paths.addnHosts, addnHostsContent(c)));
      // Read before SIGHUP/restart: dnsmasq rewrites the lease file in place (truncate, then
      // write) right after a reload, and a read in that window sees no leases.
      const stale = await this.staleLeases(c, paths);
      const running = await this.ourPid(paths);
      let action: DnsmasqAction;
      if (running && sameArgs(running.args, args)) {
        const adopted = !this.last.has(c.network);
        if (changed) {
          process.kill(running.pid, "SIGHUP");
          this.totals.reloads++;
        }
        if (adopted) this.totals.adoptions++;
        action = changed ? "reloaded" : adopted ? "adopted" : "unchanged";
      } else {
        if (running) {
          await terminate(running.pid);
          this.totals.restarts++;
        }
        await this.start(paths, args);
        action = running ? "restarted" : "started";
      }
      await this.release(c, stale);
      if (action !== "unchanged") this.log.info?.({ network: c.network, action, netns: this.opts.netns }, "dnsmasq ensured");
      this.last.set(c.network, { action, at: new Date().toISOString() });
      return action;
    });
  }

  /**
   * Releases leases whose MAC/IP pair is no longer a desired host (`dhcp_release`, as Neutron
   * does): a deleted port's lease would otherwise hold its address until expiry, and dnsmasq
   * refuses a static address still leased to another MAC, so IPAM could not reuse it.
   */
  private async staleLeases(c: DhcpNetworkConfig, paths: DnsmasqPaths): Promise<DhcpLeaseEntry[]> {
    const wanted = new Set(c.hosts.map((h) => `${h.mac.toLowerCase()} ${h.ip}`));
    return (await readLeaseFile(paths.leaseFile)).filter((x) => !wanted.has(`${x.mac} ${x.ip}`));
  }

  /** Sends one DHCPRELEASE per lease to the running daemon. */
  private async release(c: DhcpNetworkConfig, stale: DhcpLeaseEntry[]): Promise<void> {
    for (const l of stale) {
      const args = [c.interface, l.ip, l.mac, ...(l.clientId ? [l.clientId] : [])];
      const argv = this.opts.netns ? ["ip", "netns", "exec", this.opts.netns, "dhcp_release", ...args] : ["dhcp_release", ...args];
      const r = await run(argv[0], argv.slice(1));
      if (r.code !== 0) this.log.warn?.({ network: c.network, ip: l.ip, mac: l.mac, stderr: r.stderr }, "dhcp_release failed");
      else this.totals.releases++;
    }
  }

  /** Makes the state dirs exist and readable by dnsmasq after it drops privileges. */
  private async prepareDirs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await chmod(this.opts.stateDir, 0o755);
    await chmod(dir, 0o755);
    if (this.opts.user === "root") return;
    for (let d = dirname(this.opts.stateDir); ; d = dirname(d)) {
      if (((await stat(d)).mode & 0o001) === 0) {
        throw new Error(
          `dnsmasq state dir ${this.opts.stateDir}: ${d} is not traversable by others (dnsmasq re-reads its files unprivileged); ` +
            `use a dir under /run or /var/lib, or user "root"`,
        );
      }
      if (d === dirname(d)) break;
    }
  }

  /** Launches dnsmasq (it daemonises; the launcher exits once it serves) and waits for its pid file. */
  private async start(paths: DnsmasqPaths, args: string[]): Promise<number> {
    await rm(paths.pidFile, { force: true });
    const argv = this.opts.netns ? ["ip", "netns", "exec", this.opts.netns, "dnsmasq", ...args] : ["dnsmasq", ...args];
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "ignore", "pipe"] });
      let err = "";
      child.stderr.on("data", (b: Buffer) => (err += b.toString()));
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stderr: err }));
    });
    if (code !== 0) throw new Error(`dnsmasq for ${paths.dir} failed to start (exit ${code}): ${stderr.trim()}`);
    for (let i = 0; i < 200; i++) {
      const pid = await readPidFile(paths.pidFile);
      if (pid && (await pidAlive(pid))) {
        this.totals.starts++;
        return pid;
      }
      await sleep(5);
    }
    throw new Error(`dnsmasq for ${paths.dir} wrote no pid file`);
  }

  /** Stops the network's dnsmasq and deletes its files (leases, log). */
  remove(network: string): Promise<void> {
    return this.serial(async () => {
      if (!NAME_RE.test(network)) throw new Error(`invalid network name ${network}`);
      const paths = dnsmasqPaths(this.opts.stateDir, network);
      const running = await this.ourPid(paths);
      if (running) {
        await terminate(running.pid);
        this.totals.stops++;
      }
      await rm(paths.dir, { recursive: true, force: true });
      this.counters.delete(network);
      this.last.delete(network);
      this.observed = { networks: this.observed.networks.filter((n) => n.network !== network) };
    });
  }

  /** Stops every dnsmasq under the state dir (files are kept, so leases survive a later start). */
  stopAll(): Promise<void> {
    return this.serial(async () => {
      for (const network of await this.networks()) {
        const running = await this.ourPid(dnsmasqPaths(this.opts.stateDir, network));
        if (running) {
          await terminate(running.pid);
          this.totals.stops++;
        }
        this.last.delete(network);
      }
    });
  }

  private async networks(): Promise<string[]> {
    const entries = await readdir(this.opts.stateDir, { withFileTypes: true }).catch(() => []);
    const dirs = entries
      .filter((e) => e.isDirectory() && NAME_RE.test(e.name))
      .map((e) => e.name)
      .sort();
    // Only directories ensure() made (they hold a hosts file); anything else in the dir is not ours.
    const ours = await Promise.all(
      dirs.map((d) =>
        stat(dnsmasqPaths(this.opts.stateDir, d).hostsFile).then(
          () => true,
          () => false,
        ),
      ),
    );
    return dirs.filter((_, i) => ours[i]);
  }

  /**
   * Reads every network's daemon (or only `network`'s, keeping what the others showed last): pid liveness,
   * leases, hosts, and new log lines into the counters.
   */
  observe(network?: string): Promise<DnsmasqState> {
    return this.serial(async () => {
      const all = await this.networks();
      const names = network === undefined ? all : all.filter((n) => n === network);
      const networks: DnsmasqNetworkState[] = [];
      for (const name of names) networks.push(await this.observeOne(name));
      const kept = network === undefined ? [] : this.observed.networks.filter((n) => n.network !== network);
      this.observed = { networks: [...kept, ...networks].sort((a, b) => a.network.localeCompare(b.network)) };
      return structuredClone(this.observed);
    });
  }

  private async observeOne(network: string): Promise<DnsmasqNetworkState> {
    const paths = dnsmasqPaths(this.opts.stateDir, network);
    let counter = this.counters.get(network);
    if (!counter) this.counters.set(network, (counter = new LogCounter(paths.logFile)));
    const [running, leases, hosts, counters] = await Promise.all([
      this.ourPid(paths),
      readLeaseFile(paths.leaseFile),
      readFile(paths.hostsFile, "utf8").then(
        (t) => t.split("\n").filter(Boolean).length,
        () => 0,
      ),
      counter.update(),
    ]);
    return { network, pid: running?.pid ?? null, running: !!running, leases, hosts, counters: { ...counters } };
  }

  /** The lease file of `network`'s dnsmasq (the instance flow watches it for a guest's lease). */
  leaseFile(network: string): string {
    return dnsmasqPaths(this.opts.stateDir, network).leaseFile;
  }

  /** Plain-JSON internal state as of the last observe(). */
  snapshot(): DnsmasqSnapshot {
    const networks: DnsmasqSnapshot["networks"] = {};
    for (const n of this.observed.networks) {
      const l = this.last.get(n.network);
      networks[n.network] = {
        pid: n.pid,
        running: n.running,
        leases: n.leases.length,
        hosts: n.hosts,
        counters: { ...zeroCounters(), ...n.counters },
        lastAction: l?.action,
        lastActionAt: l?.at,
      };
    }
    return { totals: { ...this.totals }, networks };
  }
}

/** Whether a running daemon's args equal the wanted ones. */
const sameArgs = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Writes `content` atomically (temp + rename) unless the file already holds it; returns 1 if written. */
async function writeIfChanged(path: string, content: string): Promise<number> {
  const cur = await readFile(path, "utf8").catch(() => undefined);
  if (cur === content) return 0;
  const tmp = join(dirname(path), `.${Date.now()}.${process.pid}.tmp`);
  await writeFile(tmp, content, { mode: 0o644 });
  await chmod(tmp, 0o644);
  await rename(tmp, path);
  return 1;
}
