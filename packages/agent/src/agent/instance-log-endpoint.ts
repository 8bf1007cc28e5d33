/**
 * The agent's `/debug/instances/NS/NAME/logs[?tailBytes=N][&follow=true]`: a VM's console or a container's
 * stdout/stderr. Tenant data, so only for the API server, which shows its proxy token after RBAC allowed
 * the user `get instances/log`. With follow=true the answer stays open (chunked) and carries each byte
 * the instance writes, until the client disconnects or the instance is no longer on this host: the
 * server streams it on to `kumo logs -f` and `kubectl get --raw .../log?follow=true`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { checkProxyToken } from "../proxy-auth.js";
import { followFile } from "./log-follow.js";

/** Where the endpoint finds logs (the agent's InstanceManager); undefined: no such instance on this host. */
export interface InstanceLogSource {
  /** The last `tailBytes` of the log. */
  logs(namespace: string, name: string, tailBytes?: number): Promise<string | undefined>;
  /** The file those bytes come from, for a follow. */
  logFile(namespace: string, name: string): string | undefined;
}

/** Requests by outcome (refused: not the API server's proxy token), shown in /debug/state and /metrics. */
export type LogRequestCounts = Record<"ok" | "refused" | "not_found" | "error", number>;

/** What serveInstanceLog needs from the agent. */
export interface InstanceLogEndpointOptions {
  source: InstanceLogSource;
  /** This host's name, for error messages. */
  host: string;
  /** The file holding the API server's proxy token (`--proxy-token-file`); without it nobody is served. */
  proxyTokenFile?: string;
  counts: LogRequestCounts;
  log: Pick<Logger, "warn">;
  /** Re-check period of a follow when no change notice arrives (tests shorten it). */
  pollMs?: number;
}

/** Default tail, as the runtime drivers' logs(). */
const DEFAULT_TAIL_BYTES = 1 << 20;

/** Answers one request under /debug/instances/; resolves when the answer is complete (a follow: when it ended). */
export async function serveInstanceLog(req: IncomingMessage, res: ServerResponse, o: InstanceLogEndpointOptions): Promise<void> {
  const auth = await checkProxyToken(req.headers.authorization, o.proxyTokenFile);
  if (!auth.ok) {
    o.counts.refused++;
    o.log.warn({ from: req.socket.remoteAddress, url: req.url }, "instance log request refused: not the API server's proxy token");
    return void res.writeHead(auth.code).end(`${auth.message}\n`);
  }
  const u = new URL(req.url ?? "/", "http://agent");
  const m = /^\/debug\/instances\/([^/]+)\/([^/]+)\/logs$/.exec(u.pathname);
  if (!m) {
    o.counts.not_found++;
    return void res.writeHead(404).end("try /debug/instances/NS/NAME/logs\n");
  }
  const [ns, name] = [decodeURIComponent(m[1]), decodeURIComponent(m[2])];
  const tail = Number(u.searchParams.get("tailBytes") ?? "") || undefined;
  if (["true", "1"].includes(u.searchParams.get("follow") ?? "")) return follow(res, ns, name, tail ?? DEFAULT_TAIL_BYTES, o);
  const text = await o.source.logs(ns, name, tail).catch((e: Error) => e);
  o.counts[text === undefined ? "not_found" : text instanceof Error ? "error" : "ok"]++;
  if (text instanceof Error) res.writeHead(500).end(`${text.message}\n`);
  else if (text === undefined) res.writeHead(404).end(`no instance ${ns}/${name} on host ${o.host}\n`);
  else res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(text);
}

async function follow(res: ServerResponse, ns: string, name: string, tailBytes: number, o: InstanceLogEndpointOptions): Promise<void> {
  const file = o.source.logFile(ns, name);
  if (file === undefined) {
    o.counts.not_found++;
    return void res.writeHead(404).end(`no instance ${ns}/${name} on host ${o.host}\n`);
  }
  o.counts.ok++;
  // Headers now: the server waits for them (with a timeout) before it starts streaming to its client.
  res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache", "x-content-type-options": "nosniff" });
  res.flushHeaders();
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.on("close", onClose);
  try {
    await followFile(file, {
      tailBytes,
      signal: gone.signal,
      pollMs: o.pollMs,
      // A re-created instance has a new runtime id, so a new file: the one followed went away.
      stillThere: () => o.source.logFile(ns, name) === file,
      write: (chunk) => writeOrWait(res, chunk),
    });
  } catch (e) {
    o.counts.error++;
    o.log.warn({ instance: `${ns}/${name}`, err: (e as Error).message }, "following an instance log failed");
  } finally {
    res.off("close", onClose);
    res.end();
  }
}

// Holds the reader while the socket's buffer is full, so a slow client never makes the agent buffer a whole log.
function writeOrWait(res: ServerResponse, chunk: Buffer): void | Promise<void> {
  if (res.write(chunk)) return;
  return new Promise<void>((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}
