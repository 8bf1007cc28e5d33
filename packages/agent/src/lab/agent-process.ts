/**
 * Starting and recognising one lab host's agent. The agent runs detached (its own session, so a
 * Ctrl-C of `kumo up` does not reach it) inside the host netns via `nsenter --net`, which execs,
 * so the pid we record is the agent's own. A pid file alone is never trusted: a pid counts as the
 * agent only if /proc/PID/cmdline holds the agent main and `--name HOST`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, mkdir, open, rename, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { pidAlive as procAlive, procCmdline, readPidFile } from "@kumo/runtime/proc";
import { tailFile } from "../runtime/support.js";
import { HOST_UNDERLAY_DEV, type HostNet } from "./host-netns.js";
import type { LabNames } from "./naming.js";

/** What every agent of the lab is started with. */
export interface AgentLaunch {
  /** `https://<bridge-ip>:<port>`: reachable from inside the host namespaces. */
  serverUrl: string;
  caFile: string;
  tokenFile: string;
  /** The API server's agent proxy token (`<data dir>/agent-proxy.token`): lets it read instance logs. */
  proxyTokenFile?: string;
  /** Checkout whose packages/agent/dist/main.js runs (default: the one this file belongs to). */
  repoRoot?: string;
  /** Script run instead of `<repoRoot>/packages/agent/dist/main.js` (tests use a stand-in). */
  agentMain?: string;
  /** Node binary (default: the running one). */
  node?: string;
  /** Adds `--metrics-listen <underlay-ip>:<port>` (each host has its own address, so one port fits all). */
  metricsPort?: number;
  /** How long a new agent must stay up to count as started (default 500 ms); earlier exits fail loudly. */
  settleMs?: number;
}

/** Path suffix that marks the product agent in a cmdline. */
export const AGENT_MAIN_SUFFIX = "/packages/agent/dist/main.js";

/** Files of one host under `$KUMO_HOME/hosts/<name>`. */
export function hostFiles(n: LabNames, name: string): { dir: string; log: string; pid: string; state: string } {
  const dir = n.hostDir(name);
  return { dir, log: join(dir, "agent.log"), pid: join(dir, "agent.pid"), state: join(dir, "state") };
}

/** The agent script a launch runs. */
export function agentMainOf(l: Pick<AgentLaunch, "agentMain" | "repoRoot">): string {
  if (l.agentMain) return resolve(l.agentMain);
  // This file is packages/agent/{src,dist}/lab/agent-process.*: the checkout is four levels up.
  const root = l.repoRoot ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");
  return join(resolve(root), "packages/agent/dist/main.js");
}

/** argv of the agent itself (what /proc shows once nsenter has exec'd). */
export function agentArgv(n: LabNames, h: HostNet, l: AgentLaunch): string[] {
  const f = hostFiles(n, h.name);
  return [
    l.node ?? process.execPath,
    agentMainOf(l),
    "--server",
    l.serverUrl,
    "--ca-file",
    resolve(l.caFile),
    "--token-file",
    resolve(l.tokenFile),
    "--name",
    h.name,
    "--underlay-ip",
    h.ip,
    "--underlay-dev",
    HOST_UNDERLAY_DEV,
    "--state-dir",
    f.state,
    ...(l.metricsPort ? ["--metrics-listen", `${h.ip}:${l.metricsPort}`] : []),
    ...(l.proxyTokenFile ? ["--proxy-token-file", resolve(l.proxyTokenFile)] : []),
  ];
}

/** Whether a cmdline is the lab agent of `host` (the product main, or `agentMain` when given). */
export function isAgentCmdline(argv: string[], host: string, agentMain?: string): boolean {
  const main = argv.some((a) => (agentMain ? a === resolve(agentMain) : false) || a.endsWith(AGENT_MAIN_SUFFIX));
  const i = argv.indexOf("--name");
  return main && ((i >= 0 && argv[i + 1] === host) || argv.includes(`--name=${host}`));
}

/** The verified pid of a host's agent, or undefined (no pid file, dead, or someone else's pid). */
export async function agentPid(n: LabNames, host: string, agentMain?: string): Promise<number | undefined> {
  const pid = await readPidFile(hostFiles(n, host).pid);
  if (pid === undefined || !(await procAlive(pid))) return undefined;
  return isAgentCmdline(await procCmdline(pid), host, agentMain) ? pid : undefined;
}

/**
 * Makes sure the host's agent runs with exactly the argv `l` asks for: a live agent with the same
 * argv is kept (restarting would cost a resync), a different one is returned as `stale` for the
 * caller to stop before this starts a new one.
 */
export async function agentState(n: LabNames, h: HostNet, l: AgentLaunch): Promise<{ pid?: number; stale?: number }> {
  const pid = await agentPid(n, h.name, agentMainOf(l));
  if (pid === undefined) return {};
  const same = JSON.stringify((await procCmdline(pid)).slice(1)) === JSON.stringify(agentArgv(n, h, l).slice(1));
  return same ? { pid } : { stale: pid };
}

/** Starts the agent of one host detached; rejects (with the log's tail) if it exits within `l.settleMs`. */
export async function startAgent(n: LabNames, h: HostNet, l: AgentLaunch): Promise<number> {
  const main = agentMainOf(l);
  await access(main).catch(() => {
    throw new Error(`agent not built: ${main} is missing (run \`npx tsc -b\` first)`);
  });
  const f = hostFiles(n, h.name);
  await mkdir(f.state, { recursive: true });
  const log = await open(f.log, "a");
  let child: ChildProcess;
  try {
    // nsenter switches only the network namespace. `ip netns exec` would also give the agent a private
    // mount namespace, hiding every netns the agent creates (probes, containers) from the rest of the machine.
    child = spawn("nsenter", [`--net=/run/netns/${h.netns}`, ...agentArgv(n, h, l)], { detached: true, stdio: ["ignore", log.fd, log.fd] });
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start the agent of ${h.name} (nsenter not found? it is in util-linux)`);
  child.unref();
  // Listen before any await: an agent that dies at once may exit while the pid file is written.
  const exited = new Promise<number | null | undefined>((res) => {
    const t = setTimeout(() => res(undefined), l.settleMs ?? 500);
    child.once("exit", (code) => {
      clearTimeout(t);
      res(code);
    });
  });
  await writeFile(f.pid + ".tmp", `${pid}\n`);
  await rename(f.pid + ".tmp", f.pid);
  const code = await exited;
  if (code !== undefined) {
    const tail = (await tailFile(f.log, 2000)).trim().split("\n").slice(-5).join("\n");
    throw new Error(`agent of ${h.name} exited at once (code ${code}); ${f.log} ends with:\n${tail}`);
  }
  return pid;
}
