/**
 * Shared end-to-end test support: an HTTPS JSON client with keep-alive, a kumo server in a child process
 * (for kill -9), temp dirs, polling, and assertions on Kubernetes `Status` errors.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** One HTTP response. */
export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** Parsed JSON body, undefined when the body is not JSON. */
  body: any;
}

/** Options of one request. */
export interface RequestOptions {
  /** Objects are sent as JSON; strings and Buffers as they are. */
  body?: unknown;
  /** Bearer token; default the client's token; null sends no Authorization header. */
  token?: string | null;
  contentType?: string;
  headers?: Record<string, string>;
  /** Send the body with chunked transfer encoding (no Content-Length). */
  chunked?: boolean;
  /** Skip parsing a 2xx body as JSON (saves client CPU in load loops; `body` is then undefined). */
  skipParse?: boolean;
}

/** A minimal HTTPS JSON client trusting one CA, reusing connections (keep-alive). */
export class ApiClient {
  readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;

  constructor(
    readonly url: string,
    readonly ca: string,
    readonly token: string,
    maxSockets = 32,
  ) {
    const u = new URL(url);
    this.host = u.hostname;
    this.port = Number(u.port);
    this.agent = new Agent({ keepAlive: true, maxSockets, ca });
  }

  /** Sends one request and buffers the response. */
  request(method: string, path: string, o: RequestOptions = {}): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const payload =
        o.body === undefined ? undefined : typeof o.body === "string" || Buffer.isBuffer(o.body) ? o.body : JSON.stringify(o.body);
      const headers: Record<string, string> = { accept: "application/json", ...(o.headers ?? {}) };
      const token = o.token === undefined ? this.token : o.token;
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (payload !== undefined) {
        headers["content-type"] = o.contentType ?? "application/json";
        if (!o.chunked) headers["content-length"] = String(Buffer.byteLength(payload));
      }
      const req = httpsRequest({ host: this.host, port: this.port, path, method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown;
          const skip = o.skipParse && (res.statusCode ?? 0) < 300;
          try {
            body = skip ? undefined : JSON.parse(text);
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
        });
      });
      req.on("error", reject);
      if (payload !== undefined && o.chunked) {
        // Several writes without a Content-Length: Node sends Transfer-Encoding: chunked.
        const buf = Buffer.from(payload);
        for (let i = 0; i < buf.length; i += 64 * 1024) req.write(buf.subarray(i, i + 64 * 1024));
      } else if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Creates a temp dir under the OS temp dir. */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `kumo-e2e-${prefix}-`));
}

/** Removes a dir tree (no error when absent). */
export function removeDir(dir: string | undefined): Promise<void> {
  return dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

/** Sends `signal` to one process by PID; true when it was still there. */
export function killPid(pid: number | undefined, signal: NodeJS.Signals = "SIGKILL"): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** Signals a child we spawned, by its PID, only while it is still running (a PID may be reused after exit). */
export function killChild(child: ChildProcess | undefined, signal: NodeJS.Signals = "SIGKILL"): boolean {
  if (!child || child.exitCode !== null || child.signalCode !== null) return false;
  return killPid(child.pid, signal);
}

/** A kumo server running in a child process. */
export interface ChildServer {
  pid: number;
  url: string;
  adminToken: string;
  caCert: string;
  kubeconfigPath: string;
  child: ChildProcess;
  /** Resolves with the exit code or signal once the process is gone. */
  exited: Promise<string>;
  /** Everything the child wrote (for failure messages). */
  output(): string;
}

const LAUNCHER = fileURLToPath(new URL("./server-launcher.js", import.meta.url));

/** Starts `server-launcher.js` on `datastore` with `dataDir` and waits for its ready line. */
export function startChildServer(dataDir: string, datastore: string, timeoutMs = 20_000): Promise<ChildServer> {
  const child = spawn(process.execPath, [LAUNCHER, "--datastore", datastore, "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUMO_LOG_LEVEL: "warn" },
  });
  let out = "";
  const exited = new Promise<string>((res) => child.once("exit", (code, sig) => res(sig ?? String(code))));
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      killChild(child);
      settle(() => reject(new Error(`kumo server did not become ready in ${timeoutMs} ms; output:\n${out}`)));
    }, timeoutMs);
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
      const complete = out.split("\n").slice(0, -1); // the last piece may be a partial line
      const line = complete.find((l) => l.startsWith('{"ready":true'));
      if (!line) return;
      const r = JSON.parse(line) as { url: string; adminToken: string; caCert: string; kubeconfigPath: string };
      settle(() => resolve({ pid: child.pid!, child, exited, output: () => out, ...r }));
    });
    child.once("exit", (code, sig) => {
      const how = sig ?? String(code);
      settle(() => reject(new Error(`kumo server exited (${how}) before it was ready; output:\n${out}`)));
    });
  });
}

/** Stops a child server: SIGTERM, then SIGKILL if it is still there after `graceMs`. */
export async function stopChildServer(server: ChildServer | undefined, graceMs = 5_000): Promise<void> {
  if (!server || !killChild(server.child, "SIGTERM")) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((res) => (timer = setTimeout(() => res("timeout"), graceMs)));
  if ((await Promise.race([server.exited, timedOut])) === "timeout") {
    killChild(server.child, "SIGKILL");
    await server.exited;
  }
  clearTimeout(timer);
}

/** Polls `fn` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => Promise<T> | T, timeoutMs = 5_000, everyMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Expected shape of a failed request. */
export interface ExpectedStatus {
  /** The HTTP code, or the acceptable codes (with the matching reasons, in the same order). */
  code: number | number[];
  reason: string | string[];
  /** Must match `message`. */
  message: RegExp;
  /** A field path that must appear in `details.causes[].field`. */
  field?: string;
}

/** Asserts `res` is a Kubernetes `Status` failure with this code, reason, message (and field). */
export function assertStatus(res: HttpResult, exp: ExpectedStatus, label = ""): void {
  const ctx = `${label} → HTTP ${res.status}: ${res.text.slice(0, 600)}`;
  const codes = Array.isArray(exp.code) ? exp.code : [exp.code];
  const reasons = Array.isArray(exp.reason) ? exp.reason : [exp.reason];
  assert.ok(res.status < 500, `never a 5xx ${ctx}`);
  assert.ok(codes.includes(res.status), `status code ${codes.join(" or ")} ${ctx}`);
  assert.ok(res.body && typeof res.body === "object", `JSON body ${ctx}`);
  assert.equal(res.body.kind, "Status", `kind Status ${ctx}`);
  assert.equal(res.body.apiVersion, "v1", `apiVersion v1 ${ctx}`);
  assert.equal(res.body.status, "Failure", `status Failure ${ctx}`);
  assert.equal(res.body.code, res.status, `body code ${ctx}`);
  assert.equal(res.body.reason, reasons[codes.indexOf(res.status)] ?? reasons[0], `reason ${ctx}`);
  assert.match(String(res.body.message ?? ""), exp.message, `message ${ctx}`);
  if (exp.field !== undefined) {
    const fields = ((res.body.details?.causes ?? []) as { field?: string }[]).map((c) => c.field);
    assert.ok(fields.includes(exp.field), `details.causes names field "${exp.field}" (got ${JSON.stringify(fields)}) ${ctx}`);
  }
}

/** Host API paths. */
export const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
