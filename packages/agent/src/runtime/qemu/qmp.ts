// Minimal QMP client over a unix socket: greeting, qmp_capabilities, one command at a time,
// asynchronous events collected on the side.
import { createConnection, type Socket } from "node:net";

/** A QMP asynchronous event (STOP, RESUME, SHUTDOWN, POWERDOWN, ...). */
export interface QmpEvent {
  event: string;
  data?: unknown;
  timestamp?: { seconds: number; microseconds: number };
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void };

/** One QMP session. */
export class QmpClient {
  /** Events received so far, oldest first. */
  readonly events: QmpEvent[] = [];
  private buf = "";
  private readonly queue: Pending[] = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => this.onData(d));
    sock.on("close", () => this.fail(new Error("QMP connection closed")));
    sock.on("error", (e) => this.fail(e));
  }

  /** Connects, waits for the greeting and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 2000): Promise<QmpClient> {
    const sock = createConnection(path);
    const client = new QmpClient(sock);
    // The greeting is consumed as the reply to a pseudo-command queued first.
    const greeting = new Promise((resolve, reject) => client.queue.push({ resolve, reject }));
    const timer = setTimeout(() => sock.destroy(new Error(`QMP ${path}: no greeting in ${timeoutMs} ms`)), timeoutMs);
    try {
      await greeting;
      await client.execute("qmp_capabilities");
    } catch (err) {
      sock.destroy();
      throw err;
    } finally {
      clearTimeout(timer);
    }
    return client;
  }

  /** Runs a QMP command and resolves with its "return" value. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("QMP connection closed"));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ resolve: resolve as (v: unknown) => void, reject });
      this.sock.write(JSON.stringify(args ? { execute: command, arguments: args } : { execute: command }) + "\n");
    });
  }

  /** Closes the session (QEMU keeps running). */
  close(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: string): void {
    this.buf += d;
    let nl: number;
    while ((nl = this.buf.indexOf("\n")) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (typeof msg.event === "string") {
        this.events.push(msg as unknown as QmpEvent);
        continue;
      }
      const p = this.queue.shift();
      if (!p) continue;
      if ("error" in msg) {
        const e = msg.error as { class?: string; desc?: string };
        p.reject(new Error(`QMP ${e.class ?? "error"}: ${e.desc ?? line}`));
      } else {
        p.resolve("QMP" in msg ? msg.QMP : msg.return);
      }
    }
  }

  private fail(err: Error): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(err);
  }
}

/** Runs one command on a fresh connection and closes it (for status polls and shutdown). */
export async function qmpOnce<T = unknown>(path: string, command: string, args?: Record<string, unknown>, timeoutMs = 2000): Promise<T> {
  const c = await QmpClient.connect(path, timeoutMs);
  // Closing the socket rejects the pending command: a wedged QEMU cannot hang the caller.
  const timer = setTimeout(() => c.close(), timeoutMs);
  try {
    return await c.execute<T>(command, args);
  } finally {
    clearTimeout(timer);
    c.close();
  }
}
