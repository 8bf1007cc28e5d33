/**
 * The host lab ("cloud in a box"): N hosts as network namespaces on one underlay bridge, each with
 * its own agent. `kumo up` calls ensureUnderlay (before the API server, which listens on the bridge
 * address) and ensureLab; `kumo host add/remove` call addHost/removeHost; `kumo down` destroyLab.
 */
import { access, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { run, runOk } from "@kumo/runtime/proc";
import { netnsExists } from "../network/port-plug.js";
import { agentMainOf, agentPid, agentState, hostFiles, startAgent, type AgentLaunch } from "./agent-process.js";
import {
  createNetns,
  deleteNetns,
  deleteRootLink,
  ensureHostNet,
  hostNet,
  HOST_UNDERLAY_DEV,
  listNetns,
  listRootLinks,
  type HostNet,
} from "./host-netns.js";
import { withLabLock } from "./lock.js";
import { teardownInstances } from "../agent/instance-teardown.js";
import { labNames, MAX_HOST_INDEX, type LabNames } from "./naming.js";
import { findLabProcesses, netnsInodes, stopAll, type FoundProcess } from "./reap.js";
import { ensureUnderlay, readUnderlay, type Underlay } from "./underlay.js";

/** Options of ensureLab. */
export interface EnsureLabOptions extends Omit<AgentLaunch, "serverUrl"> {
  home: string;
  /** Hosts 1..hosts are ensured; hosts with higher indexes (from `host add`) are left alone. */
  hosts: number;
  /** Default `https://<bridge-ip>:6443`. Loopback URLs are refused: agents cannot reach them. */
  serverUrl?: string;
}

/** Options of removeHost and destroyLab. */
export interface TeardownOptions {
  /** The agent script when it is not the product's (tests). */
  agentMain?: string;
  /** SIGTERM → SIGKILL grace (default 3 s). */
  graceMs?: number;
}

/** One host as ensureLab/addHost made it. */
export interface LabHost extends HostNet {
  pid: number;
  logPath: string;
}

/** Creates the underlay, hosts 1..N and their agents; idempotent (a running, identical agent is kept). */
export async function ensureLab(o: EnsureLabOptions): Promise<{ underlay: Underlay; hosts: LabHost[] }> {
  const n = labNames(o.home);
  if (!(o.hosts >= 0 && o.hosts <= MAX_HOST_INDEX)) throw new Error(`hosts must be 0..${MAX_HOST_INDEX}, not ${o.hosts}`);
  return withLabLock(n, async () => {
    const underlay = await ensureUnderlay(n.home);
    const launch = { ...o, serverUrl: o.serverUrl ?? `https://${underlay.gateway}:6443` };
    checkServerUrl(launch.serverUrl);
    const hosts = await Promise.all(Array.from({ length: o.hosts }, (_, k) => ensureHost(n, underlay, k + 1, launch)));
    return { underlay, hosts };
  });
}

/** Adds the host with the lowest free index and starts its agent. */
export async function addHost(home: string, launch: AgentLaunch): Promise<LabHost> {
  checkServerUrl(launch.serverUrl);
  const n = labNames(home);
  return withLabLock(n, async () => {
    const underlay = await ensureUnderlay(n.home);
    for (let i = 1; i <= MAX_HOST_INDEX; i++) {
      // Creating the netns is the reservation (O_EXCL); an existing one belongs to a live host.
      if (!(await createNetns(n.host(i)))) continue;
      // A host whose agent cannot start is rolled back, so a failed `host add` leaves no half host.
      return await ensureHost(n, underlay, i, launch).catch(async (e: unknown) => {
        await teardownHost(n, i, { agentMain: launch.agentMain, graceMs: 500 });
        throw e;
      });
    }
    throw new Error(`all ${MAX_HOST_INDEX} host slots of ${n.home} are taken`);
  });
}

async function ensureHost(n: LabNames, u: Underlay, index: number, l: AgentLaunch): Promise<LabHost> {
  const h = hostNet(n, u, index);
  await ensureHostNet(n, u, h);
  const st = await agentState(n, h, l);
  if (st.stale !== undefined) await stopAll([st.stale], 3000);
  const pid = st.pid ?? (await startAgent(n, h, l));
  return { ...h, pid, logPath: hostFiles(n, h.name).log };
}

function checkServerUrl(url: string): void {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host === "::1" || host.startsWith("127.")) {
    throw new Error(
      `server URL ${url} is loopback: agents inside host namespaces cannot reach it; ` +
        "the API server must listen on the underlay bridge address (see ensureUnderlay)",
    );
  }
}

/**
 * Removes one host: stops its agent and everything of the home running in its netns, deletes its
 * veth, netns and files, then calls `deleteHostObject` (after the agent is gone, so it cannot
 * re-register the Host). `existed` is false when the lab had nothing of that host.
 */
export async function removeHost(
  home: string,
  name: string,
  o: TeardownOptions & { deleteHostObject?: (name: string) => Promise<void> } = {},
): Promise<{ existed: boolean }> {
  const n = labNames(home);
  const index = n.hostIndex(name);
  if (index === undefined)
    throw new Error(`${name} is not a host of the lab in ${n.home} (hosts are named ${n.host(1)}, ${n.host(2)}, ...)`);
  const existed = await withLabLock(n, async () => {
    const was =
      (await netnsExists(name)) ||
      (await access(n.hostDir(name)).then(
        () => true,
        () => false,
      ));
    await teardownHost(n, index, o);
    return was;
  });
  // Called even when the lab had no such host: a Host object can outlive its netns (a crash).
  await o.deleteHostObject?.(name);
  return { existed };
}

async function teardownHost(n: LabNames, index: number, o: TeardownOptions): Promise<void> {
  const name = n.host(index);
  const f = hostFiles(n, name);
  const { lab } = await findLabProcesses({
    netns: [name],
    paths: [f.dir + "/"],
    agents: [{ pidFile: f.pid, host: name }],
    agentMain: agentMainOf(o),
  });
  await stopAll(
    lab.map((p) => p.pid),
    o.graceMs ?? 3000,
  );
  await teardownInstances(hostFiles(n, name).state, name, name).catch(() => undefined); // after the agent: it would restart them
  await deleteRootLink(n.veth(index));
  await deleteNetns(name);
  await sweepOrphanPortNetns(n, o);
  await rm(f.dir, { recursive: true, force: true });
}

// A probe netns whose veth peer lived in a deleted host netns has lost its eth0: nothing can
// use it again, and the agent that made it is gone.
async function sweepOrphanPortNetns(n: LabNames, o: TeardownOptions): Promise<void> {
  for (const ns of (await listNetns()).filter(n.isPortNetns)) {
    if ((await run("ip", ["-n", ns, "link", "show", "dev", HOST_UNDERLAY_DEV])).code === 0) continue;
    const { lab } = await findLabProcesses({ netns: [ns], paths: [], agents: [], agentMain: agentMainOf(o) });
    await stopAll(
      lab.map((p) => p.pid),
      o.graceMs ?? 3000,
    );
    await deleteNetns(ns);
  }
}

/** What destroyLab did, and what it had to leave. */
export interface DestroyReport {
  stopped: FoundProcess[];
  removedNetns: string[];
  removedLinks: string[];
  /** Processes in the home's namespaces that are not kumo's: not signalled, they keep those namespaces alive. */
  foreign: FoundProcess[];
  /** Pids that survived SIGKILL (stuck in the kernel). */
  survivors: number[];
}

/** Removes every namespace, link and process of this home, found by name and by pid files (also after a crash). */
export async function destroyLab(home: string, o: TeardownOptions = {}): Promise<DestroyReport> {
  const n = labNames(home);
  return withLabLock(n, async () => {
    const dirs = (await readdir(n.hostsDir).catch(() => [] as string[])).filter((d) => n.hostIndex(d) !== undefined);
    const netns = (await listNetns()).filter((ns) => n.hostIndex(ns) !== undefined || n.isPortNetns(ns));
    // Inodes first: once the names are gone, /proc is the only way to see who was inside.
    const inodes = await netnsInodes(netns);
    const scope = {
      netns,
      paths: [n.hostsDir + "/"],
      agentMain: agentMainOf(o),
      agents: dirs.map((d) => ({ pidFile: hostFiles(n, d).pid, host: d })),
    };
    const { lab, foreign } = await findLabProcesses(scope, inodes);
    const survivors = await stopAll(
      lab.map((p) => p.pid),
      o.graceMs ?? 3000,
    );
    // Containers and VMs outlive their agent by design (restarts adopt them), so they are removed
    // explicitly, after the agents are gone: a live agent would start them again.
    for (const d of dirs) await teardownInstances(hostFiles(n, d).state, d, netns.includes(d) ? d : undefined).catch(() => undefined);
    // Veths explicitly: netns teardown is asynchronous, and a foreign process would keep it alive.
    const links = (await listRootLinks()).filter((l) => n.vethIndex(l) !== undefined);
    for (const l of links) await deleteRootLink(l);
    for (const ns of netns) await deleteNetns(ns);
    if ((await run("ip", ["link", "show", "dev", n.bridge])).code === 0) {
      await deleteRootLink(n.bridge);
      links.push(n.bridge);
    }
    // Logs stay for the post-mortem; pid files and agent state describe a dataplane that is gone.
    for (const d of dirs) {
      const f = hostFiles(n, d);
      await rm(f.pid, { force: true });
      await rm(f.state, { recursive: true, force: true });
    }
    return { stopped: lab, removedNetns: netns, removedLinks: links, foreign, survivors };
  });
}

/** One host in labStatus. */
export interface LabHostStatus {
  name: string;
  index: number;
  netns: boolean;
  /** The address eth0 holds now (undefined when the netns or address is missing). */
  ip?: string;
  /** Verified agent pid (undefined: not running). */
  pid?: number;
  logPath: string;
}

/** The lab as the kernel and the pid files show it. */
export interface LabStatus {
  prefix: string;
  underlay?: Underlay & { up: boolean };
  hosts: LabHostStatus[];
  portNetns: string[];
}

/** Lists the home's hosts (by netns and by host dir) with their address and agent. */
export async function labStatus(home: string, o: Pick<TeardownOptions, "agentMain"> = {}): Promise<LabStatus> {
  const n = labNames(home);
  const all = await listNetns();
  // A host dir alone is only a log kept after `kumo down`; with a pid file it is a host whose netns vanished.
  const dirs = await readdir(n.hostsDir).catch(() => [] as string[]);
  const withPid = await Promise.all(
    dirs.map((d) =>
      access(hostFiles(n, d).pid).then(
        () => d,
        () => "",
      ),
    ),
  );
  const names = [...new Set([...all, ...withPid])].filter((x) => n.hostIndex(x) !== undefined);
  names.sort((a, b) => n.hostIndex(a)! - n.hostIndex(b)!);
  const u = await readUnderlay(n.home);
  const hosts = await Promise.all(
    names.map(async (name): Promise<LabHostStatus> => {
      const exists = await netnsExists(name);
      const ip = exists ? await eth0Address(name) : undefined;
      const pid = await agentPid(n, name, o.agentMain ? agentMainOf(o) : undefined);
      return {
        name,
        index: n.hostIndex(name)!,
        netns: exists,
        ...(ip ? { ip } : {}),
        ...(pid ? { pid } : {}),
        logPath: join(n.hostDir(name), "agent.log"),
      };
    }),
  );
  const up = u ? (await run("ip", ["link", "show", "dev", u.bridge])).code === 0 : false;
  return { prefix: n.prefix, ...(u ? { underlay: { ...u, up } } : {}), hosts, portNetns: all.filter(n.isPortNetns) };
}

async function eth0Address(netns: string): Promise<string | undefined> {
  const out = await runOk("ip", ["-n", netns, "-json", "-4", "addr", "show", "dev", HOST_UNDERLAY_DEV]).then(
    (r) => r.stdout,
    () => "[]",
  );
  return (JSON.parse(out || "[]") as { addr_info?: { local: string }[] }[])[0]?.addr_info?.[0]?.local;
}
