/**
 * The one process helper: run a binary with an argument array (never a shell string), and check pids the way
 * daemons and drivers must before adopting or signalling one: alive and not a zombie (through /proc, not
 * `kill -0`, which calls a zombie alive), its argv, its netns. A pid file alone is no proof: pids are reused.
 */
import { spawn, type StdioOptions } from "node:child_process";
import { readFile, stat } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";

/** Exit status and captured output of run(). */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of run(). */
export interface RunOptions {
  /** Written to stdin, which is then closed (stdin is /dev/null without it). */
  input?: string;
  /** SIGKILL after this long (no limit by default). */
  timeoutMs?: number;
  /** Custom stdio (e.g. log file descriptors); output is then not captured. */
  stdio?: StdioOptions;
  /** New session: the child (and what it leaves behind) is immune to signals sent to our group. */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Runs `cmd args` and resolves with its exit status (a signal death is 128; never rejects on a non-zero exit). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: opts.stdio ?? [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: opts.detached ?? false,
      env: opts.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on("data", (b: Buffer) => out.push(b));
    child.stderr?.on("data", (b: Buffer) => err.push(b));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs) : undefined;
    timer?.unref();
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    if (opts.input !== undefined) {
      // EPIPE when the tool exits before reading all of its input is reported through its exit status.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(opts.input);
    }
  });
}

/** Like run(), but rejects with the command line and its stderr (else stdout) when the exit status is not 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  return r;
}

/** /proc/PID/stat: the state letter and the start time (clock ticks since boot), or null when the pid is gone. */
export async function procStat(pid: number): Promise<{ state: string; startTime: string } | null> {
  const s = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  if (s === undefined) return null;
  // comm (field 2) may contain spaces and parens: the fields after it start past the last ')'.
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0] ?? "?", startTime: rest[19] ?? "" };
}

/** True when `pid` exists and is not a zombie (a dead child nobody reaped yet is not alive). */
export async function pidAlive(pid: number): Promise<boolean> {
  const st = await procStat(pid);
  return st !== null && st.state !== "Z" && st.state !== "X";
}

/** argv of `pid` from /proc (empty when it is gone). */
export async function procCmdline(pid: number): Promise<string[]> {
  const raw = await readFile(`/proc/${pid}/cmdline`).catch(() => undefined);
  if (!raw || raw.length === 0) return [];
  // Exactly the argv (an empty argument stays), so callers can compare it with the argv they launched.
  return raw.toString().replace(/\0$/, "").split("\0");
}

/** True when `pid` lives in the named netns (undefined: the caller's own). */
export async function procInNetns(pid: number, netns: string | undefined): Promise<boolean> {
  const [a, b] = await Promise.all([
    stat(`/proc/${pid}/ns/net`).catch(() => undefined),
    stat(netns ? `/run/netns/${netns}` : "/proc/self/ns/net").catch(() => undefined),
  ]);
  return !!a && !!b && a.ino === b.ino && a.dev === b.dev;
}

/** The pid in a pid file; undefined when the file is missing or holds no plausible pid. */
export async function readPidFile(path: string): Promise<number | undefined> {
  const t = await readFile(path, "utf8").catch(() => "");
  const pid = Number(t.trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** SIGTERM, up to `graceMs` to exit, then SIGKILL; resolves once `pid` is gone (rejects if it survives SIGKILL). */
export async function terminate(pid: number, graceMs = 2000): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const deadline = Date.now() + graceMs;
  let killed = false;
  while (await pidAlive(pid)) {
    if (!killed && Date.now() > deadline) {
      signal("SIGKILL");
      killed = true;
    }
    if (Date.now() > deadline + 2000) throw new Error(`pid ${pid} survived SIGKILL`);
    await sleep(5);
  }
}
