/**
 * Hosts for `kumo up --hosts N` / `kumo down`: network namespaces on an underlay bridge, one kumo agent
 * each (packages/agent/src/lab). The server also listens on the bridge address, because agents in a
 * namespace cannot reach the root namespace's 127.0.0.1.
 */
import { destroyLab, ensureLab, ensureUnderlay } from "@kumo/agent";
import { labAccess } from "./commands/host.js";

/** What `up` knows when it starts the hosts. */
export interface HostsContext {
  home: string;
  count: number;
  apiUrl: string;
  kubeconfigPath: string;
}

function canMakeHosts(): string | undefined {
  if (process.platform !== "linux") return "hosts need Linux network namespaces";
  if (process.getuid?.() !== 0) return "hosts need root (network namespaces); run `sudo make up`";
  return undefined;
}

/**
 * The extra listen address on the lab bridge (`<gateway>:<port of --listen>`), creating the bridge; undefined
 * when hosts are impossible here.
 */
export async function labListen(home: string, listen: string): Promise<string | undefined> {
  if (canMakeHosts()) return undefined;
  const u = await ensureUnderlay(home);
  const port = listen.slice(listen.lastIndexOf(":") + 1);
  return `${u.gateway}:${port}`;
}

/** Starts (or keeps) `count` hosts; returns the text for the "hosts:" line of `up`. */
export async function startHosts(ctx: HostsContext): Promise<string> {
  const why = canMakeHosts();
  if (why) return `none (${why})`;
  if (ctx.count === 0) return "none (--hosts 0); add some with `kumo host add`";
  const access = await labAccess(ctx.home);
  const { hosts, underlay } = await ensureLab({ home: ctx.home, hosts: ctx.count, ...access });
  return `${hosts.map((h) => h.name).join(", ")} (underlay ${underlay.cidr} on ${underlay.bridge}; logs in ${ctx.home}/hosts/)`;
}

/** Stops every host of the cloud in `home` (before the server stops, so agents deregister cleanly). */
export async function stopHosts(home: string): Promise<void> {
  if (canMakeHosts()) return;
  const r = await destroyLab(home);
  if (r.foreign.length)
    process.stderr.write(
      `note: left ${r.foreign.length} foreign process(es) alone in the lab namespaces: ${r.foreign.map((f) => f.pid).join(", ")}\n`,
    );
  if (r.survivors.length) process.stderr.write(`warning: could not stop pid(s) ${r.survivors.join(", ")}\n`);
}
