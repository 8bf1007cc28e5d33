/**
 * iproute2 batches: many changes through one `ip -batch -` / `bridge -batch -` process fed on stdin. One
 * spawn costs ~1.3 ms; a thousand single calls would cost seconds, a batch of thousands ~40 ms.
 */
import { run } from "@kumo/runtime/proc";

/** How long one iproute2 process may take before it is killed (a wedged netlink call must not hang a sync). */
export const IPROUTE_TIMEOUT_MS = 60_000;

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
  const r = await run(tool, [...nsArgs(netns), "-force", "-batch", "-"], { input: lines.join("\n") + "\n", timeoutMs: IPROUTE_TIMEOUT_MS });
  let pending: string[] = [];
  for (const l of r.stderr.split("\n")) {
    const m = /^Command failed -:(\d+)$/.exec(l.trim());
    if (m) {
      failures.set(Number(m[1]) - 1, pending.join(" ").trim() || "failed");
      pending = [];
    } else if (l.trim()) pending.push(l.trim());
  }
  // -force exits 1 after refused lines; anything else, or messages after the last failure, is an abort.
  const aborted =
    r.code !== 0 && (r.code !== 1 || pending.length > 0 || failures.size === 0)
      ? `${tool} -batch exited ${r.code}: ${pending.join(" ") || r.stderr.trim()}`
      : undefined;
  return aborted ? { failures, aborted } : { failures };
}
