/** The audit log: one JSON line per API request (who, what, result), appended to `<dataDir>/audit.log`. */
import { createWriteStream, type WriteStream } from "node:fs";

/** One audit record. */
export interface AuditRecord {
  time: string;
  user: string;
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
  fieldManager?: string;
  userAgent?: string;
  latencyMs: number;
}

/** Appends records without blocking requests (the stream buffers; it is flushed on close). */
export class AuditLog {
  private readonly out: WriteStream;
  written = 0;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: "a", mode: 0o600 });
  }

  /** Appends one record. */
  write(r: AuditRecord): void {
    this.written++;
    this.out.write(JSON.stringify(r) + "\n");
  }

  /** Flushes and closes. */
  close(): Promise<void> {
    return new Promise((res) => this.out.end(res));
  }
}
