/**
 * Where the API is and who we are: the kumo config (a kubeconfig: `--kubeconfig`, else `KUMO_CONFIG`,
 * else `~/.kumo/config`, using its current-context), overridden by `--server`, `--token`, `-n`.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { UserError } from "./errors.js";

/** Global flags every command accepts. */
export interface GlobalFlags {
  kubeconfig?: string;
  namespace?: string;
  server?: string;
  token?: string;
  insecureSkipTlsVerify?: boolean;
}

/** What a command needs to talk to the API. */
export interface Connection {
  server: string;
  token?: string;
  caPem?: string;
  insecure: boolean;
  /** Namespace (project) from -n or the context; undefined means "default". */
  namespace?: string;
  /** The config file used, if any. */
  configPath?: string;
}

/** The default location of the kumo config. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.KUMO_CONFIG || join(homedir(), ".kumo", "config");
}

interface Kubeconfig {
  clusters?: {
    name: string;
    cluster: {
      server?: string;
      "certificate-authority-data"?: string;
      "certificate-authority"?: string;
      "insecure-skip-tls-verify"?: boolean;
    };
  }[];
  users?: { name: string; user: { token?: string; tokenFile?: string } }[];
  contexts?: { name: string; context: { cluster?: string; user?: string; namespace?: string } }[];
  "current-context"?: string;
}

/** Resolves the connection from flags, env and the config file; throws UserError with a next step. */
export function loadConnection(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const path = flags.kubeconfig ? resolve(flags.kubeconfig) : defaultConfigPath(env);
  let conn: Partial<Connection> = {};
  if (existsSync(path)) conn = fromKubeconfig(path);
  else if (flags.kubeconfig || !flags.server) {
    throw new UserError(`no kumo config at ${path}: run "kumo up" (or "make up"), or pass --kubeconfig, or set KUMO_CONFIG`);
  }
  const server = flags.server ?? conn.server;
  if (!server) throw new UserError(`${path} names no server for its current context: pass --server`);
  return {
    server: server.replace(/\/+$/, ""),
    token: flags.token ?? conn.token,
    caPem: conn.caPem,
    insecure: !!flags.insecureSkipTlsVerify || !!conn.insecure,
    namespace: flags.namespace ?? conn.namespace,
    configPath: existsSync(path) ? path : undefined,
  };
}

function fromKubeconfig(path: string): Partial<Connection> {
  let cfg: Kubeconfig;
  try {
    cfg = (parseYaml(readFileSync(path, "utf8")) ?? {}) as Kubeconfig;
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const ctxName = cfg["current-context"];
  const ctx = cfg.contexts?.find((c) => c.name === ctxName)?.context ?? cfg.contexts?.[0]?.context;
  if (!ctx) throw new UserError(`${path} has no context (expected a kubeconfig with current-context)`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  const user = cfg.users?.find((u) => u.name === ctx.user)?.user;
  let caPem: string | undefined;
  if (cluster?.["certificate-authority-data"]) caPem = Buffer.from(cluster["certificate-authority-data"], "base64").toString("utf8");
  else if (cluster?.["certificate-authority"]) caPem = readFileSync(resolve(path, "..", cluster["certificate-authority"]), "utf8");
  let token = user?.token;
  if (!token && user?.tokenFile) token = readFileSync(resolve(path, "..", user.tokenFile), "utf8").trim();
  return { server: cluster?.server, caPem, token, insecure: cluster?.["insecure-skip-tls-verify"], namespace: ctx.namespace };
}
