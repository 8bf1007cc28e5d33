/**
 * The agent's image cache: blobs by digest under `<dir>/sha256/<hex>` (downloaded to a temp file,
 * hashed while streaming, renamed only when the digest matches: a crash or a corrupt transfer never
 * leaves a file under a digest name), and each rootfs-tar unpacked once per digest into
 * `<dir>/rootfs/<hex>`, which the runc driver uses read-only as the overlay's lower layer.
 */
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { IMAGE_PARTS, type Image, type ImageBlob, type ImageFormat } from "@kumo/api";
import { runOk } from "@kumo/runtime/proc";

/** Fetches one blob of an image; resolves with a 2xx Response whose body streams the bytes. */
export type BlobFetcher = (image: string, part: string, signal?: AbortSignal) => Promise<Response>;

/** Options of an ImageCache. */
export interface ImageCacheOptions {
  dir: string;
  fetchBlob: BlobFetcher;
}

/** Local files of one image, ready for a runtime driver. */
export interface CachedImage {
  name: string;
  format: ImageFormat;
  /** Part name → blob path (kernel, initrd, disk, rootfs). */
  files: Record<string, string>;
  /** rootfs-tar only: the unpacked, shared rootfs directory. */
  rootfs?: string;
  /** True when every part was already cached. */
  hit: boolean;
  /** Bytes downloaded by this call. */
  downloadedBytes: number;
  ms: number;
}

/** Counters for metrics and /debug/state. */
export interface ImageCacheStats {
  hits: number;
  misses: number;
  downloadedBytes: number;
  downloads: number;
  checksumFailures: number;
  failures: number;
  unpacks: number;
}

/** GET path of one blob (the server's contract). */
export function blobPath(image: string, part: string): string {
  return `/apis/compute.kumo.dev/v1/images/${encodeURIComponent(image)}/blobs/${encodeURIComponent(part)}`;
}

/** Content-addressed blob cache plus unpacked rootfs directories. */
export class ImageCache {
  readonly stats: ImageCacheStats = { hits: 0, misses: 0, downloadedBytes: 0, downloads: 0, checksumFailures: 0, failures: 0, unpacks: 0 };
  private readonly inflight = new Map<string, Promise<unknown>>();
  private lastError?: { image: string; message: string; at: string };
  private readonly used = new Map<string, { image: string; part: string; size: number; lastUsed: string }>();

  constructor(private readonly o: ImageCacheOptions) {}

  /** Path of a blob by digest. */
  blobFile(sha256: string): string {
    return join(this.o.dir, "sha256", sha256);
  }

  /** Path of an unpacked rootfs by the tarball's digest. */
  rootfsDir(sha256: string): string {
    return join(this.o.dir, "rootfs", sha256);
  }

  /** True when every part of the image is cached (and unpacked for rootfs-tar): ensure() will not download. */
  async has(img: Image): Promise<boolean> {
    const blobs = requiredBlobs(img);
    for (const [part, b] of Object.entries(blobs)) {
      if (!(await sizeIs(this.blobFile(b.sha256), b.size))) return false;
      if (part === "rootfs" && !(await isDir(this.rootfsDir(b.sha256)))) return false;
    }
    return true;
  }

  /**
   * Makes every part of a Ready image local (download + verify, unpack), deduplicating concurrent calls
   * by digest. `quiet`: a re-check for an instance already running (not counted as a hit).
   */
  async ensure(img: Image, signal?: AbortSignal, o: { quiet?: boolean } = {}): Promise<CachedImage> {
    const t0 = performance.now();
    const name = img.metadata.name!;
    const blobs = requiredBlobs(img);
    const files: Record<string, string> = {};
    let downloaded = 0;
    let hit = true;
    try {
      for (const [part, b] of Object.entries(blobs)) {
        const r = await this.once(`blob:${b.sha256}`, () => this.ensureBlob(name, part, b, signal));
        files[part] = this.blobFile(b.sha256);
        this.used.set(b.sha256, { image: name, part, size: b.size, lastUsed: new Date().toISOString() });
        if (r > 0 || r === -1) hit = false;
        if (r > 0) downloaded += r;
      }
    } catch (e) {
      this.stats.failures++;
      this.lastError = { image: name, message: (e as Error).message, at: new Date().toISOString() };
      throw e;
    }
    let rootfs: string | undefined;
    if (img.spec!.format === "rootfs-tar") {
      const sha = blobs.rootfs.sha256;
      rootfs = this.rootfsDir(sha);
      await this.once(`rootfs:${sha}`, () => this.unpack(sha));
    }
    if (!hit) this.stats.misses++;
    else if (!o.quiet) this.stats.hits++;
    return { name, format: img.spec!.format, files, rootfs, hit, downloadedBytes: downloaded, ms: Math.round(performance.now() - t0) };
  }

  // Returns bytes downloaded (0: cached; -1: another caller downloaded it concurrently).
  private async ensureBlob(image: string, part: string, b: ImageBlob, signal?: AbortSignal): Promise<number> {
    const dest = this.blobFile(b.sha256);
    if (await sizeIs(dest, b.size)) return 0;
    await mkdir(join(this.o.dir, "sha256"), { recursive: true });
    await mkdir(join(this.o.dir, "tmp"), { recursive: true });
    const tmp = join(this.o.dir, "tmp", `${b.sha256}.${process.pid}.${randomBytes(4).toString("hex")}`);
    try {
      const res = await this.o.fetchBlob(image, part, signal);
      const announced = res.headers.get("x-kumo-sha256");
      // The server names the digest it is sending: a re-upload since our informer saw the image.
      if (announced && announced !== b.sha256)
        throw new Error(
          `image ${image} part ${part}: server sends sha256 ${announced.slice(0, 12)}…, ` +
            `the image status says ${b.sha256.slice(0, 12)}… (re-uploaded?)`,
        );
      if (!res.body) throw new Error(`image ${image} part ${part}: empty response`);
      const hash = createHash("sha256");
      let size = 0;
      const body = Readable.fromWeb(res.body as import("node:stream/web").ReadableStream<Uint8Array>);
      body.on("data", (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      await pipeline(body, createWriteStream(tmp, { mode: 0o444 }), { signal });
      const got = hash.digest("hex");
      if (got !== b.sha256 || size !== b.size) {
        this.stats.checksumFailures++;
        throw new Error(
          `image ${image} part ${part}: downloaded ${size} bytes with sha256 ${got.slice(0, 12)}…, ` +
            `expected ${b.size} bytes with ${b.sha256.slice(0, 12)}… (discarded)`,
        );
      }
      await rename(tmp, dest);
      this.stats.downloads++;
      this.stats.downloadedBytes += size;
      return size;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  // Unpacks into a temp dir and renames it into place, so a half-unpacked tree never has the final name.
  private async unpack(sha: string): Promise<void> {
    const dest = this.rootfsDir(sha);
    if (await isDir(dest)) return;
    await mkdir(join(this.o.dir, "rootfs"), { recursive: true });
    const tmp = join(this.o.dir, "tmp", `rootfs-${sha}.${process.pid}.${randomBytes(4).toString("hex")}`);
    await mkdir(tmp, { recursive: true });
    try {
      // --numeric-owner: the image's uids, not this host's /etc/passwd; root keeps owners and modes.
      await runOk("tar", ["-xf", this.blobFile(sha), "-C", tmp, "--numeric-owner"], { timeoutMs: 300_000 });
      // The shared lower layer must never change under running containers: read-only top dir.
      await chmod(tmp, 0o555);
      await rename(tmp, dest);
      this.stats.unpacks++;
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private once<T>(key: string, fn: () => Promise<T>): Promise<T | number> {
    const cur = this.inflight.get(key);
    // A caller joining someone else's download did not download anything itself (-1); joining a
    // check that found the blob cached is a hit like any other (0).
    if (cur) return cur.then((r) => (typeof r === "number" && r > 0 ? -1 : 0));
    const p = fn().finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Counters, digests this process used, downloads in flight and the last error, for /debug/state. */
  snapshotSync(): Record<string, unknown> {
    return {
      dir: this.o.dir,
      stats: { ...this.stats },
      used: Object.fromEntries(this.used),
      inflight: [...this.inflight.keys()],
      lastError: this.lastError,
    };
  }
}

/** The blobs a Ready image must have for its format; throws when the image is not usable. */
export function requiredBlobs(img: Image): Record<string, ImageBlob> {
  const format = img.spec?.format;
  const parts = format ? IMAGE_PARTS[format] : undefined;
  if (!parts) throw new Error(`image ${img.metadata.name} has unknown format ${String(format)}`);
  const out: Record<string, ImageBlob> = {};
  for (const p of parts) {
    const b = img.status?.blobs?.[p];
    if (!b || !/^[0-9a-f]{64}$/.test(b.sha256)) throw new Error(`image ${img.metadata.name} has no uploaded ${p} blob`);
    out[p] = b;
  }
  return out;
}

async function sizeIs(path: string, size: number): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile() && s.size === size,
    () => false,
  );
}

async function isDir(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
