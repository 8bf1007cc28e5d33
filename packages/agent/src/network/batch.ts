/**
 * Process helpers for iproute2: run a command with argument arrays (never a shell string), and
 * write many changes through one `ip -batch -` / `bridge -batch -` process fed on stdin. One spawn
 * costs ~1.3 ms; a thousand single calls would cost seconds, a batch of thousands ~40 ms.
 */
import { spawn } from "node:child_process";

/** Output of a finished process. */
export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `cmd args` with optional stdin; resolves with the exit code (does not throw on non-zero). */
export function run(cmd: string, args: string[], input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => { clearTimeout(timer); reject(e); });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code: code ?? (signal ? 128 : 1) });
    });
    // EPIPE when the tool exits early is reported through its exit code, not here.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}

/** Runs `cmd args` and returns stdout, throwing with stderr on a non-zero exit. */
export async function runOk(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `-n NS` for iproute2 when a namespace is given, else nothing (current netns). */
export const nsArgs = (netns: string | undefined): string[] => (netns ? ["-n", netns] : []);

/** Lines of a batch the tool refused: 0-based line index → the tool's message. */
export type BatchFailures = Map<number, string>;

/** Result of one batch: refused lines, and whether the tool stopped early. */
export interface BatchResult {
  failures: BatchFailures;
  /**
   * Set when the tool exited mid-batch: iproute2 exits outright on some argument errors (an
   * unknown `dev` in `link add`, an unknown `master`) even under `-force`, and does not say at
   * which line. Lines after the last reported failure may not have run.
   */
  aborted?: string;
}

/**
 * Writes `lines` through `tool -force -batch -`. `-force` keeps going past a refused line so one
 * bad entry cannot block the rest; refused lines come back with their messages
 * (iproute2 prints the message, then `Command failed -:N`).
 */
export async function runBatch(tool: "ip" | "bridge", netns: string | undefined, lines: string[]): Promise<BatchResult> {
  const failures: BatchFailures = new Map();
  if (lines.length === 0) return { failures };
  const r = await run(tool, [...nsArgs(netns), "-force", "-batch", "-"], lines.join("\n") + "\n");
  let pending: string[] = [];
  for (const l of r.stderr.split("\n")) {
    const m = /^Command failed -:(\d+)$/.exec(l.trim());
    if (m) { failures.set(Number(m[1]) - 1, pending.join(" ").trim() || "failed"); pending = []; }
    else if (l.trim()) pending.push(l.trim());
  }
  // -force exits 1 after refused lines; anything else, or messages after the last failure, is an abort.
  const aborted = r.code !== 0 && (r.code !== 1 || pending.length > 0 || failures.size === 0)
    ? `${tool} -batch exited ${r.code}: ${pending.join(" ") || r.stderr.trim()}` : undefined;
  return aborted ? { failures, aborted } : { failures };
}
