// Small process/file helpers shared by the runtime drivers: argument-array execs, PID liveness
// through /proc, log tails and a per-key lock.
import { spawn, type StdioOptions } from "node:child_process";
import { open, readFile, stat } from "node:fs/promises";

/** Result of run(): exit status and captured output. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options for run(). */
export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  /** Custom stdio (e.g. log file descriptors); output is then not captured. */
  stdio?: StdioOptions;
  /** New session: the child (and what it leaves behind) is immune to signals sent to our group. */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** Runs a binary with an argument array (no shell) and resolves with its exit status. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: opts.stdio ?? [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      detached: opts.detached ?? false,
      env: opts.env,
    });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = opts.timeoutMs
      ? setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs).unref()
      : undefined;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like run() but rejects with the command line and stderr when the exit status is not 0. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}: ${(r.stderr || r.stdout).trim()}`);
  }
  return r;
}

/** Resolves after ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn every intervalMs until it returns a truthy value or timeoutMs passes (then undefined). */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 20,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() >= deadline) return undefined;
    await sleep(intervalMs);
  }
}

/** Reads /proc/PID/stat: process state letter and start time (clock ticks since boot). */
export async function procStat(pid: number): Promise<{ state: string; startTime: string } | null> {
  try {
    const s = await readFile(`/proc/${pid}/stat`, "utf8");
    // comm (field 2) may contain spaces and parens: parse after the last ')'.
    const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { state: rest[0] ?? "?", startTime: rest[19] ?? "" };
  } catch {
    return null;
  }
}

/** True when pid exists and is not a zombie (a dead child nobody reaped yet is not "alive"). */
export async function pidAlive(pid: number): Promise<boolean> {
  const st = await procStat(pid);
  return st !== null && st.state !== "Z" && st.state !== "X";
}

/** The process's argv from /proc, or null when it is gone. */
export async function procCmdline(pid: number): Promise<string[] | null> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, "utf8");
    return raw.split("\0").filter((s) => s.length > 0);
  } catch {
    return null;
  }
}

/** Last maxBytes of a file as UTF-8 ("" when the file does not exist). */
export async function tailFile(path: string, maxBytes = 1 << 20): Promise<string> {
  let fh;
  try {
    fh = await open(path, "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw err;
  }
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, maxBytes);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString("utf8");
  } finally {
    await fh.close();
  }
}

/** True when path exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Reads and parses a JSON file, or returns null when it is missing or unreadable. */
export async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return null;
  }
}

/** Serialises async work per key (two ensure() calls for one instance must not interleave). */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs fn after every earlier fn for the same key has settled. */
  async with<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    try {
      return await next;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}

/** Measures consecutive steps: lap("create") records ms since the previous lap. */
export class StepTimer {
  private readonly t0 = performance.now();
  private last = this.t0;
  readonly timings: Record<string, number> = {};

  /** Records the time since the previous lap under name. */
  lap(name: string): void {
    const now = performance.now();
    this.timings[name] = round(now - this.last);
    this.last = now;
  }

  /** Records the total since construction under "total" and returns the timings. */
  done(): Record<string, number> {
    this.timings.total = round(performance.now() - this.t0);
    return this.timings;
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
