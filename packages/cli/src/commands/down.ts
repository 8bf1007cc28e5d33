/** `kumo down [--purge]`: stops the server `kumo up` started (only that pid), optionally removing its data. */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import type { Command } from "commander";
import { sleep } from "@kumo/client";
import { pidAlive, procCmdline, readPidFile } from "@kumo/runtime/proc";
import { cloudPaths, isKumoServerArgv, type CloudPaths } from "../daemon.js";
import { UserError } from "../errors.js";
import { stopHosts } from "../hosts-hook.js";

/** Registers `down`. */
export function register(program: Command): void {
  program
    .command("down")
    .description("stop what `kumo up` started (data stays unless --purge)")
    .option("--purge", "also remove $KUMO_HOME (store, certificates, logs)")
    .option("--timeout <seconds>", "grace period between SIGTERM and SIGKILL", "10")
    .action(async (o: { purge?: boolean; timeout: string }) => {
      const p = cloudPaths();
      // HOOK: hosts (see hosts-hook.ts); stopped first so agents do not spin against a dead API.
      if (existsSync(p.home)) await stopHosts(p.home);
      const pid = await readPidFile(p.pidFile);
      if (pid === undefined) process.stdout.write(`kumo is not running (no pid file in ${p.home})\n`);
      else if (!(await pidAlive(pid))) process.stdout.write(`kumo was not running (stale pid ${pid})\n`);
      else if (!isKumoServerArgv(await procCmdline(pid), p.home)) {
        process.stdout.write(`pid ${pid} is not the kumo server of ${p.home} (stale pid file); not signalling it\n`);
      } else {
        const how = await stop(pid, Number(o.timeout) * 1000);
        process.stdout.write(`kumo stopped (pid ${pid}, ${how})\n`);
      }
      rmSync(p.pidFile, { force: true });
      if (o.purge) purge(p);
    });
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. Returns how it ended. */
async function stop(pid: number, graceMs: number): Promise<string> {
  process.kill(pid, "SIGTERM");
  const end = Date.now() + graceMs;
  while (Date.now() < end) {
    if (!(await pidAlive(pid))) return "SIGTERM";
    await sleep(100);
  }
  process.kill(pid, "SIGKILL");
  for (let i = 0; i < 50 && (await pidAlive(pid)); i++) await sleep(100);
  if (await pidAlive(pid)) throw new UserError(`pid ${pid} survived SIGKILL`);
  return `SIGKILL after ${Math.round(graceMs / 1000)}s`;
}

/** Removes KUMO_HOME, but only if it looks like one (a typo must not wipe an unrelated directory). */
function purge(p: CloudPaths): void {
  if (!existsSync(p.home)) {
    process.stdout.write(`nothing to purge: ${p.home} does not exist\n`);
    return;
  }
  const markers = ["admin.kubeconfig", "kumo.db", "server.log", "pki"];
  const entries = readdirSync(p.home);
  if (entries.length && !markers.some((m) => entries.includes(m))) {
    throw new UserError(`${p.home} does not look like a kumo home (none of ${markers.join(", ")}); not removing it`);
  }
  // The copied kubeconfig holds this cloud's CA and token: useless after purge, so it goes too.
  const admin = existsSync(p.adminKubeconfig) ? readFileSync(p.adminKubeconfig, "utf8") : undefined;
  if (admin && existsSync(p.userConfig) && readFileSync(p.userConfig, "utf8") === admin) {
    rmSync(p.userConfig, { force: true });
    process.stdout.write(`removed ${p.userConfig}\n`);
  }
  rmSync(p.home, { recursive: true, force: true });
  process.stdout.write(`removed ${p.home}\n`);
}
