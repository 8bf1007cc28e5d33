/**
 * The background server behind `kumo up` / `kumo down`: where its files live, whether the pid in the
 * pid file really is our server (never signal a pid we did not start: @kumo/runtime/proc checks the pid,
 * isKumoServerArgv its argv), and waiting for /readyz.
 */
import { readFileSync } from "node:fs";
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
