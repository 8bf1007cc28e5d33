/**
 * `kumo host add | remove NAME | list`: grows, shrinks and shows the host lab of $KUMO_HOME: hosts
 * as network namespaces on an underlay bridge, one agent each (packages/agent/src/lab). The lab is
 * local to this machine, so these commands act on $KUMO_HOME directly, with the admin credentials
 * the server wrote there, not on whatever cloud the user's kubeconfig points at.
 */
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { AGENT_PROXY_TOKEN_FILE, ApiError, HostKind } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { addHost, labNames, labStatus, readUnderlay, removeHost, type AgentLaunch, type LabStatus } from "@kumo/agent";
import { cloudPaths } from "../daemon.js";
import { UserError } from "../errors.js";
import { alignColumns } from "../print/columns.js";
import { createNodeFetch } from "@kumo/runtime";
import { ensureAgentToken } from "../agent-identity.js";

/** What the agents (and `host remove`, for the Host object) need to reach the API. */
export interface LabAccess extends AgentLaunch {
  token: string;
  caPem: string;
}

/**
 * Reads `$KUMO_HOME/admin.kubeconfig`, writes its CA to `$KUMO_HOME/hosts/ca.crt` and an agent token
 * (user kumo-agent) to `$KUMO_HOME/hosts/agent.token` (0600) for the agents' --ca-file/--token-file.
 */
export async function labAccess(home: string): Promise<LabAccess> {
  const path = join(home, "admin.kubeconfig");
  const text = await readFile(path, "utf8").catch(() => {
    throw new UserError(`no cloud in ${home} (${path} is missing): run "kumo up" first`);
  });
  type Kubeconfig = {
    clusters?: { cluster?: { server?: string; "certificate-authority-data"?: string } }[];
    users?: { user?: { token?: string } }[];
  };
  const kc = (parseYaml(text) ?? {}) as Kubeconfig;
  const server = kc.clusters?.[0]?.cluster?.server;
  const caData = kc.clusters?.[0]?.cluster?.["certificate-authority-data"];
  const token = kc.users?.[0]?.user?.token;
  if (!server || !caData || !token)
    throw new UserError(`${path} lacks clusters[0].cluster.server, certificate-authority-data or users[0].user.token`);
  const caPem = Buffer.from(caData, "base64").toString("utf8");
  const dir = labNames(home).hostsDir;
  await mkdir(dir, { recursive: true });
  const caFile = join(dir, "ca.crt");
  await writeSecret(caFile, caPem);
  // Agents get their own user and token (not the admin's): see agent-identity.ts.
  const tokenFile = join(dir, "agent.token");
  await ensureAgentToken({ server, caPem, adminToken: token, file: tokenFile, write: writeSecret });
  // Agents live in namespaces: they reach the API on the lab bridge (the server listens there too), not on 127.0.0.1.
  const u = await readUnderlay(home);
  const serverUrl = u ? `https://${u.gateway}:${new URL(server).port || "443"}` : server;
  // The server of this cloud runs with $KUMO_HOME as its data dir, on this machine: agents read its file.
  const proxyTokenFile = join(home, AGENT_PROXY_TOKEN_FILE);
  return { serverUrl, caFile, tokenFile, proxyTokenFile, token, caPem };
}

// tmp + rename: an agent starting meanwhile reads the old file or the new one, never half of one.
async function writeSecret(path: string, content: string): Promise<void> {
  await writeFile(path + ".tmp", content, { mode: 0o600 });
  await chmod(path + ".tmp", 0o600); // mode applies only when the file is created
  await rename(path + ".tmp", path);
}

function requireRoot(verb: string): void {
  if (process.getuid?.() !== 0) throw new UserError(`kumo host ${verb} needs root: it creates network namespaces and links`);
}

/** Registers `host` with its subcommands. */
export function register(program: Command): void {
  const host = program
    .command("host")
    .description("grow, shrink and show the cloud-in-a-box hosts of $KUMO_HOME (network namespaces with an agent each)");

  host
    .command("add")
    .description("add a host (the lowest free index) and start its agent; prints its name")
    .option("--metrics-port <port>", "agent /metrics port on the host's underlay address")
    .action(async (o: { metricsPort?: string }) => {
      requireRoot("add");
      const { home } = cloudPaths();
      const metricsPort = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
      if (metricsPort !== undefined && !(Number.isInteger(metricsPort) && metricsPort > 0 && metricsPort < 65536)) {
        throw new UserError(`--metrics-port must be a port number, not "${o.metricsPort}"`);
      }
      const access = await labAccess(home);
      const h = await addHost(home, { ...access, ...(metricsPort ? { metricsPort } : {}) });
      process.stdout.write(`${h.name}\n`);
    });

  host
    .command("remove")
    .argument("<name>", "host name, as `kumo host list` shows it")
    .description("stop a host's agent, delete its namespace and link, and delete its Host object")
    .option("--keep-object", "leave the Host object in the API (it turns NotReady)")
    .action(async (name: string, o: { keepObject?: boolean }) => {
      requireRoot("remove");
      const { home } = cloudPaths();
      const access = o.keepObject ? undefined : await labAccess(home);
      const deleteHostObject = access ? (n: string) => deleteHost(access, n) : undefined;
      const { existed } = await removeHost(home, name, { deleteHostObject });
      process.stdout.write(
        existed
          ? `host ${name} removed\n`
          : `host ${name} was not in the lab of ${home}${access ? " (its Host object is gone too)" : ""}\n`,
      );
    });

  host
    .command("list")
    .description("the lab as the kernel shows it: namespace, underlay address, agent pid, log")
    .option("-o, --output <format>", "json for the full status")
    .action(async (o: { output?: string }) => {
      const { home } = cloudPaths();
      const st = await labStatus(home);
      if (o.output === "json") return void process.stdout.write(JSON.stringify(st, null, 2) + "\n");
      if (o.output !== undefined) throw new UserError(`--output must be json, not "${o.output}"`);
      process.stdout.write(formatLab(home, st).join("\n") + "\n");
    });
}

/** Deletes the Host object; one that is already gone is fine. */
async function deleteHost(a: LabAccess, name: string): Promise<void> {
  const client = new KumoClient({
    server: a.serverUrl,
    token: a.token,
    fetch: createNodeFetch({ caPem: a.caPem }),
    fieldManager: "kumo-cli",
  });
  try {
    await client.delete(HostKind, undefined, name);
  } catch (e) {
    if (e instanceof ApiError && e.code === 404) return;
    throw new UserError(`host ${name} left the lab, but its Host object was not deleted: ${(e as Error).message}`);
  }
}

/** `host list` lines: one row per host, then the underlay. */
export function formatLab(home: string, st: LabStatus): string[] {
  const rows = st.hosts.map((h) => [
    h.name,
    h.ip ?? "<none>",
    h.netns ? "yes" : "missing",
    h.pid !== undefined ? `running (pid ${h.pid})` : "not running",
    h.logPath,
  ]);
  const lines = rows.length
    ? alignColumns([["NAME", "UNDERLAY IP", "NETNS", "AGENT", "LOG"], ...rows])
    : [`No hosts in the lab of ${home}.`];
  const u = st.underlay;
  lines.push(
    u ? `underlay: ${u.bridge} ${u.cidr}, API side ${u.gateway} (${u.up ? "up" : "down"})` : "underlay: none yet (kumo up creates it)",
  );
  if (st.portNetns.length) lines.push(`probe namespaces: ${st.portNetns.length}`);
  return lines;
}
