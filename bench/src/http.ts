/** HTTPS load generation: keep-alive requests, closed-loop workers, and the child server process. */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

/** Where and how to reach the server. */
export interface Target {
  url: string;
  token: string;
  ca: string;
}

/** One finished request. */
export interface Reply {
  status: number;
  ms: number;
  bytes: number;
  text?: string;
}

/** A keep-alive HTTPS client. */
export class Client {
  readonly agent: Agent;
  private readonly u: URL;

  constructor(
    readonly target: Target,
    maxSockets: number,
  ) {
    this.u = new URL(target.url);
    this.agent = new Agent({ keepAlive: true, maxSockets, ca: target.ca });
  }

  /** Sends a request; `keepText` keeps the body (otherwise only its size is counted). */
  send(method: string, path: string, body?: unknown, contentType = "application/json", keepText = false): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { accept: "application/json", authorization: `Bearer ${this.target.token}` };
    if (payload !== undefined)
      Object.assign(headers, { "content-type": contentType, "content-length": String(Buffer.byteLength(payload)) });
    return new Promise((resolve, reject) => {
      const start = performance.now();
      const req = request({ host: this.u.hostname, port: this.u.port, path, method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on("data", (c: Buffer) => {
          bytes += c.length;
          if (keepText || (res.statusCode ?? 0) >= 300) chunks.push(c);
        });
        res.on("error", reject);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            ms: performance.now() - start,
            bytes,
            text: chunks.length ? Buffer.concat(chunks).toString() : undefined,
          }),
        );
      });
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Closes pooled connections. */
  close(): void {
    this.agent.destroy();
  }
}

/** Result of a closed-loop run. */
export interface LoadResult {
  latencies: number[];
  seconds: number;
  errors: string[];
}

/**
 * Runs `total` requests with `inFlight` workers, each sending its next request when the previous one
 * answered; `make(i)` builds request i. Non-`okStatus` answers are errors (the first few are kept).
 */
export async function closedLoop(
  client: Client,
  total: number,
  inFlight: number,
  okStatus: number,
  make: (i: number) => { method: string; path: string; body?: unknown; contentType?: string },
): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < total) {
      const r = make(next++);
      const rep = await client.send(r.method, r.path, r.body, r.contentType);
      if (rep.status === okStatus) latencies.push(rep.ms);
      else if (errors.push(`${rep.status} ${rep.text?.slice(0, 160) ?? ""}`) > 20)
        throw new Error(`too many errors: ${errors.slice(0, 3).join(" | ")}`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies, seconds: (performance.now() - start) / 1000, errors };
}

/** The server child process. */
export interface ServerProcess extends Target {
  child: ChildProcess;
  /** CPU time (user + system) the server process has used so far, in seconds (NaN off Linux). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** utime + stime of a process from /proc (clock ticks; 100 per second on Linux). */
function procCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Starts `server-child.js` and waits for its ready line. */
export function startServer(dataDir: string, datastore: string): Promise<ServerProcess> {
  const script = fileURLToPath(new URL("./server-child.js", import.meta.url));
  // KUMO_BENCH_PROFILE_DIR=DIR writes a V8 CPU profile of the server there (open it in Chrome DevTools).
  const profile = process.env.KUMO_BENCH_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.KUMO_BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, script, "--datastore", datastore, "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  // Signals go to this child's PID only, and only while it runs (a PID may be reused after exit).
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async () => {
    if (!running()) return;
    process.kill(child.pid!, "SIGTERM");
    const t = setTimeout(() => running() && process.kill(child.pid!, "SIGKILL"), 5_000);
    await exited;
    clearTimeout(t);
  };
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop().catch((e: unknown) => process.stderr.write(`stopping the server failed: ${(e as Error).message}\n`));
      reject(new Error(`server not ready after 20 s:\n${out}`));
    }, 20_000);
    child.stderr.on("data", (c: Buffer) => (out += c));
    child.stdout.on("data", (c: Buffer) => {
      out += c;
      const line = out
        .split("\n")
        .slice(0, -1)
        .find((l) => l.startsWith('{"ready":true'));
      if (!line) return;
      clearTimeout(timer);
      const r = JSON.parse(line) as { url: string; adminToken: string; caCert: string };
      resolve({ url: r.url, token: r.adminToken, ca: r.caCert, child, stop, cpuSeconds: () => procCpuSeconds(child.pid!) });
    });
    child.once("exit", () => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready:\n${out}`));
    });
  });
}
