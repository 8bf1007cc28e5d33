/**
 * `kumo up`: starts `kumo server` in the background for $KUMO_HOME, waits until /readyz answers,
 * installs the admin kubeconfig at $KUMO_CONFIG and says where everything is. Idempotent.
 */
import { spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import cliProgress from "cli-progress";
import { sleep } from "@kumo/client";
import { pidAlive, procCmdline, readPidFile } from "@kumo/runtime/proc";
import { cloudPaths, isKumoServerArgv, lastFailure, serverOfKubeconfig, tailLines, type CloudPaths } from "../daemon.js";
import { UserError } from "../errors.js";
import { labListen, startHosts } from "../hosts-hook.js";
import { createNodeFetch } from "@kumo/runtime";

interface UpOptions {
  listen: string;
  hosts: string;
  timeout: string;
}

/** Registers `up`. */
export function register(program: Command): void {
  program
    .command("up")
    .description("start the cloud in the background ($KUMO_HOME, default /var/lib/kumo) and write $KUMO_CONFIG")
    .option("--listen <addr>", "HOST:PORT for the API", "127.0.0.1:6443")
    .option("--hosts <n>", "hosts to start (network namespaces with an agent each)", "3")
    .option("--timeout <seconds>", "how long to wait for the API to become ready", "60")
    .action(async (o: UpOptions) => {
      const hosts = Number(o.hosts);
      if (!Number.isInteger(hosts) || hosts < 0) throw new UserError(`--hosts must be a whole number, not "${o.hosts}"`);
      const p = cloudPaths();
      try {
        mkdirSync(p.home, { recursive: true });
      } catch (e) {
        throw new UserError(
          `cannot create KUMO_HOME ${p.home} (${(e as NodeJS.ErrnoException).code}): set KUMO_HOME to a directory you can write`,
        );
      }
      const running = await runningPid(p);
      let pid: number;
      let url: string;
      if (running) {
        pid = running;
        url = await waitReady(p, pid, 0, Number(o.timeout) * 1000);
        process.stdout.write(`kumo is already up (pid ${pid})\n`);
        const at = new URL(url).host;
        if (at !== o.listen)
          process.stderr.write(`note: it listens on ${at}, not ${o.listen}; run "kumo down" first to change the address\n`);
      } else {
        const started = Date.now();
        // Hosts live in network namespaces and reach the API on the lab's bridge address: it must exist first.
        const bridgeListen = await labListen(p.home, o.listen);
        pid = startServer(p, o.listen, bridgeListen);
        url = await waitReady(p, pid, started, Number(o.timeout) * 1000);
        process.stdout.write(`kumo is up (pid ${pid})\n`);
      }
      installKubeconfig(p);
      // HOOK: hosts (see hosts-hook.ts).
      const hostsLine = await startHosts({ home: p.home, count: hosts, apiUrl: url, kubeconfigPath: p.userConfig });
      printSummary(p, url, hostsLine);
    });
}

/** The pid of this cloud's live server, or undefined (a stale pid file is removed). */
export async function runningPid(p: CloudPaths): Promise<number | undefined> {
  const pid = await readPidFile(p.pidFile);
  if (pid === undefined) return undefined;
  if ((await pidAlive(pid)) && isKumoServerArgv(await procCmdline(pid), p.home)) return pid;
  rmSync(p.pidFile, { force: true });
  return undefined;
}

function startServer(p: CloudPaths, listen: string, extra?: string): number {
  const main = fileURLToPath(new URL("../main.js", import.meta.url));
  const log = openSync(p.logFile, "a");
  writeFileSync(log, `--- kumo up ${new Date().toISOString()} listen=${listen}${extra ? ` extra=${extra}` : ""}\n`);
  const child = spawn(
    process.execPath,
    [main, "server", "--data-dir", p.home, "--listen", listen, ...(extra ? ["--extra-listen", extra] : [])],
    {
      detached: true, // own session: survives this shell, and Ctrl-C here does not reach it
      stdio: ["ignore", log, log],
      env: process.env,
    },
  );
  closeSync(log);
  if (child.pid === undefined) throw new UserError(`cannot start the kumo server (see ${p.logFile})`);
  child.unref();
  writeFileSync(p.pidFile, `${child.pid}\n`);
  return child.pid;
}

/**
 * Waits for the server to rewrite its kubeconfig (mtime ≥ start) and answer /readyz over TLS with
 * that CA. Fails early, with the server's own error, when the process dies.
 */
async function waitReady(p: CloudPaths, pid: number, startedAt: number, timeoutMs: number): Promise<string> {
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: "waiting for the API  [{bar}] {value}s  {phase}", stream: process.stderr, hideCursor: true, clearOnComplete: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.ceil(timeoutMs / 1000), 0, { phase: "starting" });
  const t0 = Date.now();
  try {
    for (;;) {
      const elapsed = Date.now() - t0;
      if (!(await pidAlive(pid))) {
        const tail = tailLines(p.logFile, 30);
        rmSync(p.pidFile, { force: true });
        throw new UserError(`the kumo server exited during start: ${lastFailure(tail) ?? "no error in the log"} (log: ${p.logFile})`);
      }
      if (elapsed > timeoutMs)
        throw new UserError(`the kumo server (pid ${pid}) is not ready after ${Math.round(timeoutMs / 1000)}s (log: ${p.logFile})`);
      bar?.update(Math.floor(elapsed / 1000), { phase: "waiting for /readyz" });
      const fresh = existsSync(p.adminKubeconfig) && statSync(p.adminKubeconfig).mtimeMs >= startedAt - 1000;
      if (fresh) {
        const { server, caPem } = serverOfKubeconfig(readFileSync(p.adminKubeconfig, "utf8"));
        if (server && (await ready(server, caPem))) return server;
      }
      await sleep(100);
    }
  } finally {
    bar?.stop();
  }
}

async function ready(server: string, caPem: string | undefined): Promise<boolean> {
  try {
    const res = await createNodeFetch({ caPem })(`${server}/readyz`, { signal: AbortSignal.timeout(2000) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

function installKubeconfig(p: CloudPaths): void {
  mkdirSync(dirname(p.userConfig), { recursive: true });
  copyFileSync(p.adminKubeconfig, p.userConfig);
  chmodSync(p.userConfig, 0o600);
}

function printSummary(p: CloudPaths, url: string, hosts: string): void {
  const rows = [
    ["API:", url],
    ["kubeconfig:", p.userConfig],
    ["dashboard:", `${url}/ui/`],
    ["hosts:", hosts],
    ["data:", `${p.home} (log: ${p.logFile})`],
  ];
  const lines = rows.map(([k, v]) => `  ${k.padEnd(12)}${v}`);
  // KUMO_CONFIG must reach the CLI when it is not the default location.
  const kumoEnv = process.env.KUMO_CONFIG ? `KUMO_CONFIG=${p.userConfig} ` : "";
  lines.push(`  try:        ${kumoEnv}kumo get hosts`, `              KUBECONFIG=${p.userConfig} kubectl get ns`);
  process.stdout.write(lines.join("\n") + "\n");
}
