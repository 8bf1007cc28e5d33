/**
 * The background server behind `kumo up` / `kumo down`: where its files live, whether the pid in the
 * pid file really is our server (never signal a pid we did not start), and waiting for /readyz.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Files of one cloud under KUMO_HOME. */
export interface CloudPaths {
  home: string;
  pidFile: string;
  logFile: string;
  adminKubeconfig: string;
  /** Where `up` copies the admin kubeconfig for the CLI. */
  userConfig: string;
}

/** Paths from KUMO_HOME (default /var/lib/kumo) and KUMO_CONFIG (default ~/.kumo/config). */
export function cloudPaths(env: NodeJS.ProcessEnv = process.env): CloudPaths {
  const home = resolve(env.KUMO_HOME || "/var/lib/kumo");
  return {
    home,
    pidFile: join(home, "server.pid"),
    logFile: join(home, "server.log"),
    adminKubeconfig: join(home, "admin.kubeconfig"),
    userConfig: resolve(env.KUMO_CONFIG || join(homedir(), ".kumo", "config")),
  };
}

/** The pid in the pid file, if there is a well-formed one. */
export function readPid(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const n = Number(readFileSync(pidFile, "utf8").trim());
  return Number.isInteger(n) && n > 1 ? n : undefined;
}

/** True when `pid` exists (signal 0 checks without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The argv of a live process from /proc, or undefined. */
export function cmdlineOf(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * True when `argv` is `node …/cli/dist/main.js server … --data-dir HOME`: the server `up` started for
 * this KUMO_HOME. A recycled pid (any other process) never matches.
 */
export function isKumoServerArgv(argv: string[] | undefined, home: string): boolean {
  if (!argv) return false;
  const script = argv.findIndex((a) => /(^|\/)cli\/dist\/main\.js$/.test(a) || /(^|\/)kumo$/.test(a));
  if (script < 0 || argv[script + 1] !== "server") return false;
  const i = argv.indexOf("--data-dir");
  return i >= 0 && resolve(argv[i + 1] ?? "") === home;
}

/** The server address and CA in a kubeconfig written by the server. */
export function serverOfKubeconfig(text: string): { server?: string; caPem?: string } {
  const server = text.match(/^\s*server:\s*(\S+)\s*$/m)?.[1];
  const ca = text.match(/certificate-authority-data:\s*(\S+)/)?.[1];
  return { server, caPem: ca ? Buffer.from(ca, "base64").toString("utf8") : undefined };
}

/** Last `n` lines of a log file (for "the server failed to start" messages). */
export function tailLines(file: string, n: number): string[] {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-n);
  } catch {
    return [];
  }
}

/** The message of the last structured (JSON) or plain log line that reports a failure. */
export function lastFailure(lines: string[]): string | undefined {
  for (const l of [...lines].reverse()) {
    try {
      const j = JSON.parse(l) as { level?: number | string; msg?: string; err?: unknown; error?: unknown };
      const lvl = typeof j.level === "number" ? j.level : 0;
      if (lvl >= 50 || j.level === "error" || j.level === "fatal") return [j.msg, errText(j.err ?? j.error)].filter(Boolean).join(": ");
    } catch {
      if (/error/i.test(l)) return l.replace(/^\s*error:\s*/i, "");
    }
  }
  return undefined;
}

function errText(e: unknown): string | undefined {
  if (!e) return undefined;
  if (typeof e === "string") return e;
  const m = (e as { message?: string }).message;
  return m ?? JSON.stringify(e);
}
