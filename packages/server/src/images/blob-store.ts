/**
 * Content-addressed blob store under `<dataDir>/blobs`: `sha256/<hex>` holds verified content, `tmp/`
 * holds uploads in progress. An upload is hashed while it streams to a temp file and renamed into place only
 * when its digest matches, so a failed or corrupt upload leaves nothing behind and identical content is
 * stored once. Stored files are re-hashed before they are served (cached by inode, mtime, ctime and size)
 * and hashed again while streaming, so bytes that rotted on disk are never handed out as an image.
 */
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { Transform, pipeline } from "node:stream";

/** Upload whose content does not hash to the digest the client announced. */
export class BlobDigestMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly size: number,
  ) {
    super(`sha256 mismatch: expected ${expected}, got ${actual} over ${size} bytes`);
  }
}

/** Upload larger than the store accepts. */
export class BlobTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`blob is larger than the limit of ${limit} bytes`);
  }
}

/** A stored blob whose bytes no longer hash to its name. */
export class BlobCorrupted extends Error {
  constructor(
    readonly digest: string,
    readonly actual: string,
  ) {
    super(`stored blob sha256:${digest} is corrupted (its content hashes to ${actual})`);
  }
}

/** Result of a stored upload. */
export interface PutResult {
  sha256: string;
  size: number;
  /** The same content was already stored. */
  deduped: boolean;
}

/** An open, verified blob. The caller streams it with `stream()` (which closes the handle) or closes it. */
export interface OpenBlob {
  size: number;
  handle: FileHandle;
}

/** Default largest blob: VM disks of a few GiB fit. */
export const DEFAULT_MAX_BLOB_BYTES = 16 * 1024 ** 3;
const WRITE_BATCH_BYTES = 1024 * 1024;

const fingerprint = (s: Stats) => `${s.ino}:${s.mtimeMs}:${s.ctimeMs}:${s.size}`;

/** The store. */
export class BlobStore {
  readonly casDir: string;
  readonly tmpDir: string;
  private readonly verified = new Map<string, string>();
  private readonly verifying = new Map<string, Promise<string>>();
  private readonly pins = new Map<string, number>();
  private readonly lastUnpinned = new Map<string, number>();
  private readonly activeTmp = new Set<string>();
  verifyFailures = 0;

  constructor(
    dataDir: string,
    readonly maxBytes = DEFAULT_MAX_BLOB_BYTES,
  ) {
    this.casDir = join(dataDir, "blobs", "sha256");
    this.tmpDir = join(dataDir, "blobs", "tmp");
  }

  /** Creates the directories and removes temp files left by a previous process (no upload survives a restart). */
  async init(): Promise<void> {
    await mkdir(this.casDir, { recursive: true });
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  /** Path of a stored digest. */
  pathOf(digest: string): string {
    if (!/^[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 hex digest: ${digest}`);
    return join(this.casDir, digest);
  }

  /**
   * Marks `digest` as in use by an upload until the returned function is called (after the Image status names
   * it), so the collector never deletes a file an image is about to reference.
   */
  pin(digest: string): () => void {
    this.pins.set(digest, (this.pins.get(digest) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.pins.get(digest) ?? 1) - 1;
      if (n > 0) this.pins.set(digest, n);
      else this.pins.delete(digest);
      this.lastUnpinned.set(digest, Date.now());
    };
  }

  /** Streams `body` into the store if it hashes to `expected`; otherwise nothing is kept. */
  async put(body: AsyncIterable<Uint8Array>, expected: string, maxBytes = this.maxBytes): Promise<PutResult> {
    const final = this.pathOf(expected);
    const tmp = join(this.tmpDir, `${expected.slice(0, 12)}-${crypto.randomUUID()}`);
    this.activeTmp.add(tmp);
    const fh = await open(tmp, "wx", 0o640);
    let closed = false;
    try {
      const hash = createHash("sha256");
      let size = 0;
      let batch: Uint8Array[] = [];
      let batchBytes = 0;
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new BlobTooLarge(maxBytes);
        hash.update(chunk);
        batch.push(chunk);
        batchBytes += chunk.byteLength;
        if (batchBytes >= WRITE_BATCH_BYTES) {
          await fh.writev(batch);
          batch = [];
          batchBytes = 0;
        }
      }
      if (batch.length) await fh.writev(batch);
      await fh.sync();
      await fh.close();
      closed = true;
      const actual = hash.digest("hex");
      if (actual !== expected) throw new BlobDigestMismatch(expected, actual, size);
      const deduped = await stat(final).then(
        () => true,
        () => false,
      );
      await rename(tmp, final); // atomic; replacing identical content is harmless and heals a rotted copy
      await syncDir(this.casDir);
      this.verified.set(expected, fingerprint(await stat(final)));
      return { sha256: actual, size, deduped };
    } catch (e) {
      if (!closed) await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    } finally {
      this.activeTmp.delete(tmp);
    }
  }

  /** Opens a stored blob after checking its content still hashes to `digest` (ENOENT error when absent). */
  async open(digest: string): Promise<OpenBlob> {
    const handle = await open(this.pathOf(digest), "r");
    try {
      const st = await handle.stat();
      const fp = fingerprint(st);
      if (this.verified.get(digest) !== fp) {
        const k = `${digest}@${fp}`;
        let p = this.verifying.get(k);
        if (!p) {
          p = hashFile(handle, st.size).finally(() => this.verifying.delete(k));
          this.verifying.set(k, p);
        }
        const actual = await p;
        if (actual !== digest) {
          this.verified.delete(digest);
          this.verifyFailures++;
          throw new BlobCorrupted(digest, actual);
        }
        this.verified.set(digest, fp);
      }
      return { size: st.size, handle };
    } catch (e) {
      await handle.close().catch(() => undefined);
      throw e;
    }
  }

  /**
   * Streams an open blob, hashing again on the way: the last chunk is held back until the digest is checked,
   * so a file that changes after `open()` ends the response with an error instead of a complete corrupt body.
   */
  stream(blob: OpenBlob, digest: string, onBytes: (n: number) => void, onCorrupt: (actual: string) => void): Transform {
    const hash = createHash("sha256");
    let held: Buffer | undefined;
    const guard = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        const out = held;
        held = chunk;
        if (out) onBytes(out.length);
        cb(null, out);
      },
      flush(cb) {
        const actual = hash.digest("hex");
        if (actual !== digest) {
          onCorrupt(actual);
          return cb(new BlobCorrupted(digest, actual));
        }
        if (held) onBytes(held.length);
        cb(null, held);
      },
    });
    const src = blob.handle.createReadStream({ start: 0, highWaterMark: 256 * 1024 });
    // pipeline (not pipe): a client that goes away destroys both streams, which closes the file.
    return pipeline(src, guard, () => undefined);
  }

  /**
   * Deletes a stored blob unless an upload holds it or finished with it after `notAfter` (ms): the caller
   * decided it was unreferenced from a list read at `notAfter`, and such an upload may not be in that list.
   */
  async remove(digest: string, notAfter: number): Promise<boolean> {
    if (this.pins.has(digest) || (this.lastUnpinned.get(digest) ?? 0) >= notAfter) return false;
    this.verified.delete(digest);
    try {
      await rm(this.pathOf(digest));
      return true;
    } catch {
      return false;
    }
  }

  /** Stored digests with their size and modification time. */
  async list(): Promise<{ digest: string; size: number; mtimeMs: number }[]> {
    const out = [];
    for (const name of await readdir(this.casDir)) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const st = await stat(join(this.casDir, name)).catch(() => undefined);
      if (st) out.push({ digest: name, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  /** Removes temp files of uploads that are no longer running (a crashed request handler). */
  async sweepTmp(): Promise<number> {
    let n = 0;
    for (const name of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, name);
      if (this.activeTmp.has(p)) continue;
      await rm(p, { force: true });
      n++;
    }
    return n;
  }

  /** State for /debug/state. */
  snapshot() {
    return {
      dir: this.casDir,
      verifiedCached: this.verified.size,
      uploadsInProgress: this.activeTmp.size,
      pinned: [...this.pins.keys()],
      verifyFailures: this.verifyFailures,
    };
  }
}

async function hashFile(fh: FileHandle, size: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = Buffer.allocUnsafe(Math.min(4 * 1024 * 1024, Math.max(1, size)));
  let pos = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest("hex");
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
