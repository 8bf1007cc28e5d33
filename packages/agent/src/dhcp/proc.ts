/**
 * Process checks for daemons kumo started: is a pid alive (and not a zombie), is it the program
 * we think (its /proc cmdline), and is it in the netns we expect. A pid file alone is not proof:
 * pids are reused, so nothing is adopted or signalled without these checks.
 */
import { readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** argv of `pid` from /proc (empty if gone). */
export async function procCmdline(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`).catch(() => undefined);
  if (!raw || raw.length === 0) return [];
  return raw.toString().replace(/\0$/, "").split("\0");
}

/** true if `pid` exists and is not a zombie. */
export async function procAlive(pid: number): Promise<boolean> {
  const st = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (!st) return false;
  // Field 3 follows the ")" closing the command name (which may itself contain spaces).
  const state = st.slice(st.lastIndexOf(")") + 2, st.lastIndexOf(")") + 3);
  return state !== "Z" && state !== "X";
}

/** true if `pid` lives in the named netns (undefined = the current one). */
export async function procInNetns(pid: number, netns: string | undefined): Promise<boolean> {
  const [a, b] = await Promise.all([
    stat(`/proc/${pid}/ns/net`).catch(() => undefined),
    stat(netns ? `/run/netns/${netns}` : "/proc/self/ns/net").catch(() => undefined),
  ]);
  return !!a && !!b && a.ino === b.ino && a.dev === b.dev;
}

/** Reads a pid file; undefined if missing or malformed. */
export async function readPidFile(path: string): Promise<number | undefined> {
  const t = await readFile(path, "utf8").catch(() => "");
  const pid = Number(t.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** Sends SIGTERM to `pid`, waits up to `graceMs`, then SIGKILL; resolves when it is gone. */
export async function terminate(pid: number, graceMs = 2000): Promise<void> {
  const signal = (s: NodeJS.Signals) => { try { process.kill(pid, s); } catch { /* already gone */ } };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (await procAlive(pid)) {
    if (!killed && Date.now() > deadline) { signal("SIGKILL"); killed = true; }
    if (Date.now() > deadline + 2000) throw new Error(`pid ${pid} survived SIGKILL`);
    await sleep(5);
  }
}
