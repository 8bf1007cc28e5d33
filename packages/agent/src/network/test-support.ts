/**
 * Helpers for the root-only integration tests: skip reasons, unique names, and an undo stack
 * that runs in `after` even when a test fails. Test-only; not exported from the package index.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";

/** A reason to skip (not root, or a missing tool), or false when the test can run. */
export function skipUnlessRoot(tools: string[]): string | false {
  if (process.getuid?.() !== 0) return "needs root (creates network namespaces)";
  const missing = tools.filter((t) => {
    try {
      execFileSync("which", [t], { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  });
  return missing.length ? `needs ${missing.join(", ")} (apt-get install -y iproute2 dnsmasq-base busybox-static iputils-ping)` : false;
}

/** `kt-<6 hex>`: a prefix no other run (or kumo itself) uses, so cleanup can never hit foreign objects. */
export const uniquePrefix = (): string => `kt-${randomBytes(3).toString("hex")}`;

/** Runs a command, returns stdout; throws with stderr on failure. */
export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Runs a command, returns its exit status instead of throwing. */
export function status(cmd: string, ...args: string[]): number {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 15_000 });
    return 0;
  } catch (e) {
    return (e as { status?: number }).status ?? 1;
  }
}

/** LIFO undo list; run() executes every step even if some throw. */
export class Cleanup {
  private steps: (() => unknown)[] = [];
  /** Registers an undo step. */
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  /** Runs all steps newest first; errors are collected and rethrown together at the end. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    for (const s of this.steps.reverse()) {
      try {
        await s();
      } catch (e) {
        errors.push(e);
      }
    }
    this.steps = [];
    if (errors.length) throw new AggregateError(errors, "cleanup failed");
  }
}

/** Creates netns `name` and registers its deletion (with everything inside it). */
export function addNetns(cleanup: Cleanup, name: string): string {
  sh("ip", "netns", "add", name);
  cleanup.add(() => status("ip", "netns", "del", name));
  sh("ip", "-n", name, "link", "set", "lo", "up");
  return name;
}
