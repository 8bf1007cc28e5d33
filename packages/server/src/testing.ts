/**
 * Test support: a real kumo server (HTTPS, auth, store) in this process on a free loopback port, and a
 * minimal HTTPS JSON client trusting its CA. Tests talk to it exactly as kubectl would.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runServer, type RunningServer, type ServerOptions } from "./server.js";

/** Response of `TestServer.call`. */
export interface CallResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body (undefined when not JSON). */
  body: any;
}

/** A running test server plus helpers. */
export interface TestServer extends RunningServer {
  dataDir: string;
  /** One HTTPS request; `body` objects are sent as JSON. */
  call(
    method: string,
    path: string,
    opts?: { body?: unknown; token?: string | null; contentType?: string; headers?: Record<string, string> },
  ): Promise<CallResult>;
  /** Stops the server and removes its data dir. */
  stop(): Promise<void>;
}

/** Starts a server on `memory://` (or `datastore`) with a temp data dir. */
export async function startTestServer(opts: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "kumo-test-")));
  process.env.KUMO_LOG_LEVEL ??= "warn";
  const s = await runServer({ datastore: "memory://", listen: "127.0.0.1:0", audit: false, ...opts, dataDir });
  const url = new URL(s.url);
  const call: TestServer["call"] = (method, path, o = {}) =>
    new Promise((resolve, reject) => {
      const payload = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
      const headers: Record<string, string> = { accept: "application/json", ...(o.headers ?? {}) };
      if (o.token !== null) headers.authorization = `Bearer ${o.token ?? s.adminToken}`;
      if (payload !== undefined) headers["content-type"] = o.contentType ?? "application/json";
      // Node's client sends a DELETE body without chunked encoding: without a length the server would read
      // the body as a second request (400) and the DELETE would go through without its options.
      if (payload !== undefined) headers["content-length"] ??= String(Buffer.byteLength(payload));
      const req = httpsRequest({ host: url.hostname, port: url.port, path, method, headers, ca: s.caCert }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on("error", reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  return {
    ...s,
    dataDir,
    call,
    stop: async () => {
      await s.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
