/**
 * Finds and stops the processes a lab home left running, also after a crash (stale pid files,
 * namespaces without their owner). One pass over /proc: cheaper than `ip netns pids` per netns,
 * and it also sees processes whose netns name is already gone.
 *
 * A process is this home's when it is one of the lab's kinds (agent, dnsmasq, udhcpc, qemu,
 * runc/crun) AND (it lives in one of the home's namespaces, OR an argument is a path inside
 * `$KUMO_HOME/hosts/`, OR it is the agent a host's pid file names). A container workload (any
 * cmdline, cgroup under /kumo/) counts when it lives in one of the home's namespaces. Anything else
 * inside those namespaces is reported as foreign and left alone: someone's debugging shell, say.
 */
import { readdir, readFile, readlink, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { procCmdline, readPidFile, terminate } from "@kumo/runtime/proc";
import { AGENT_MAIN_SUFFIX, isAgentCmdline } from "./agent-process.js";

/** Where to look for one home's processes. */
export interface ReapScope {
  /** Namespaces (names under /run/netns) that belong to the home. */
  netns: string[];
  /** Path prefixes (ending in "/") whose mention in an argument marks a process as the home's. */
  paths: string[];
  /** Agents by pid file. */
  agents: { pidFile: string; host: string }[];
  /** The agent script when it is not the product's (tests). */
  agentMain?: string;
}

/** A process found by findLabProcesses. */
export interface FoundProcess {
  pid: number;
  argv: string[];
  /** The home's netns it lives in, if any. */
  netns?: string;
}

/** Kind of a cmdline among the lab's process kinds, or undefined. */
export function labKind(argv: string[], agentMain?: string): string | undefined {
  if (argv.some((a) => a.endsWith(AGENT_MAIN_SUFFIX) || (agentMain !== undefined && a === agentMain))) return "agent";
  const bin = basename(argv[0] ?? "");
  // Between fork and exec, a process started by `ip netns exec NS CMD` or `nsenter --net=F CMD` still shows that wrapper.
  if (bin === "ip" && argv[1] === "netns" && argv[2] === "exec" && argv.length > 4) return labKind(argv.slice(4), agentMain);
  if (bin === "nsenter" && argv[1]?.startsWith("--net=") && argv.length > 2) return labKind(argv.slice(2), agentMain);
  if (bin === "dnsmasq" || bin === "udhcpc" || bin === "runc" || bin === "crun") return bin;
  if (bin === "busybox" && argv[1] === "udhcpc") return "udhcpc";
  if (bin.startsWith("qemu-system")) return "qemu";
  return undefined;
}

/** Inode of a namespace file; the same number /proc/PID/ns/net shows as `net:[INO]`. */
async function netnsInode(name: string): Promise<number | undefined> {
  return stat(join("/run/netns", name)).then(
    (s) => s.ino,
    () => undefined,
  );
}

async function inKumoCgroup(pid: number): Promise<boolean> {
  const raw = await readFile(`/proc/${pid}/cgroup`, "utf8").catch(() => "");
  return raw.split("\n").some((l) => /^[^:]*:[^:]*:\/kumo\//.test(l));
}

/** Scans /proc once; returns the home's processes and the foreign ones inside its namespaces. */
export async function findLabProcesses(
  s: ReapScope,
  inodes?: Map<number, string>,
): Promise<{ lab: FoundProcess[]; foreign: FoundProcess[] }> {
  const byInode = inodes ?? (await netnsInodes(s.netns));
  const agentPids = new Map<number, string>();
  for (const a of s.agents) {
    const pid = await readPidFile(a.pidFile);
    if (pid !== undefined) agentPids.set(pid, a.host);
  }
  const lab: FoundProcess[] = [];
  const foreign: FoundProcess[] = [];
  const skip = new Set([process.pid, process.ppid]);
  for (const entry of await readdir("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || skip.has(pid)) continue;
    const argv = await procCmdline(pid);
    if (argv.length === 0) continue; // kernel thread, or gone
    const link = await readlink(`/proc/${pid}/ns/net`).catch(() => "");
    const netns = byInode.get(Number(/\[(\d+)\]/.exec(link)?.[1]));
    const kind = labKind(argv, s.agentMain);
    const mentionsHome = argv.some((a) => s.paths.some((p) => a.startsWith(p) || a.includes(`=${p}`)));
    const host = agentPids.get(pid);
    const viaPidFile = host !== undefined && isAgentCmdline(argv, host, s.agentMain);
    const found = { pid, argv, ...(netns ? { netns } : {}) };
    if ((kind && (netns || mentionsHome)) || viaPidFile) lab.push(found);
    else if (netns && (await inKumoCgroup(pid))) lab.push(found);
    else if (netns) foreign.push(found);
  }
  return { lab, foreign };
}

/** Inode → name for the namespaces that exist now (capture before deleting them). */
export async function netnsInodes(names: string[]): Promise<Map<number, string>> {
  const m = new Map<number, string>();
  for (const name of names) {
    const ino = await netnsInode(name);
    if (ino !== undefined) m.set(ino, name);
  }
  return m;
}

/** SIGTERM, then SIGKILL after `graceMs`, to every pid in parallel; returns those that survived. */
export async function stopAll(pids: number[], graceMs: number): Promise<number[]> {
  const results = await Promise.all(
    pids.map((pid) =>
      terminate(pid, graceMs).then(
        () => undefined,
        () => pid,
      ),
    ),
  );
  return results.filter((p): p is number => p !== undefined);
}
