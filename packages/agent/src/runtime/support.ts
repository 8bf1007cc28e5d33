// Small helpers shared by the runtime drivers: polling, log tails, JSON state files, step timings.
// Processes (run, runOk, pid checks) are @kumo/runtime/proc's; the per-key lock is @kumo/runtime's KeyedLock.
import { open, readFile, stat } from "node:fs/promises";

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
