/**
 * Image blob collector (a controller, not an admission hook, so a delete through any path, including the
 * garbage collector and namespace teardown, frees the bytes): when an Image is deleted, or one of its parts
 * is replaced by another upload, each digest it no longer references is deleted from the blob store unless
 * another Image still references it (identical content is stored once). A periodic sweep removes stored
 * blobs no Image references (an upload whose Image vanished before its status was written) once they are
 * older than a grace period, and temp files of uploads that are no longer running.
 */
import { ImageKind, type ImageStatus, type KindDefinition, type KObject } from "@kumo/api";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { ObjectStore } from "../../registry/store.js";
import type { WatchCache } from "../../registry/watch-cache.js";
import { EventRecorder } from "../events.js";
import type { BlobStore } from "./blob-store.js";
import { digestsOf } from "./image-status.js";
import { LocalInformer } from "./local-informer.js";

/** Unreferenced blobs younger than this survive a sweep: their upload may still be writing the Image status. */
const ORPHAN_GRACE_MS = 10 * 60_000;

/** Deletes blobs no Image references. */
export class ImageBlobCollector {
  private readonly informer: LocalInformer;
  private readonly deleted: Counter;
  private readonly events: EventRecorder;
  private timer?: NodeJS.Timeout;
  private chain: Promise<void> = Promise.resolve();
  deletedTotal = 0;
  lastSweep?: string;

  constructor(private readonly store: ObjectStore, cache: WatchCache, private readonly blobs: BlobStore, private readonly log: Logger, registry: Registry) {
    this.deleted = new Counter({ name: "kumo_images_blob_gc_deleted_total", help: "Stored image blobs deleted because no Image references them any more", registers: [registry] });
    this.informer = new LocalInformer(store, cache, [ImageKind], (k, t, o, p) => this.onChange(k, t, o, p));
    this.events = new EventRecorder(store, "kumo-image-service", log);
  }

  /** Follows Image changes and starts the periodic sweep. */
  async start(sweepMs = 5 * 60_000): Promise<void> {
    await this.informer.start();
    this.timer = setInterval(() => void this.enqueue(() => this.sweep()), sweepMs);
    this.timer.unref();
  }

  /** Stops following and sweeping. */
  stop(): void {
    clearInterval(this.timer);
    this.informer.stop();
  }

  private onChange(_kind: KindDefinition, type: string, obj: KObject, prev?: KObject): void {
    const before = type === "DELETED" ? digestsOf(obj.status as ImageStatus | undefined) : digestsOf(prev?.status as ImageStatus | undefined);
    const after = type === "DELETED" ? new Set<string>() : digestsOf(obj.status as ImageStatus | undefined);
    const dropped = [...before].filter((d) => !after.has(d));
    if (!dropped.length) return;
    void this.enqueue(async () => {
      const gone = await this.collect(dropped, `image ${obj.metadata.name} ${type === "DELETED" ? "deleted" : "part replaced"}`);
      if (gone.length) await this.events.record(obj, "Normal", "BlobsDeleted", `deleted ${gone.map((d) => `sha256:${d.slice(0, 12)}`).join(", ")}: no image references ${gone.length === 1 ? "it" : "them"} any more`);
    });
  }

  /** Runs collections one at a time (a sweep and an event never decide on the same file concurrently). */
  private enqueue(f: () => Promise<unknown>): Promise<void> {
    this.chain = this.chain.then(f).then(() => undefined, (e) => this.log.warn({ err: String(e) }, "image blob collection failed; the next sweep retries"));
    return this.chain;
  }

  private async referenced(): Promise<Set<string>> {
    const refs = new Set<string>();
    for (const img of (await this.store.list(ImageKind, undefined)).items) for (const d of digestsOf(img.status as ImageStatus | undefined)) refs.add(d);
    return refs;
  }

  /** Deletes those of `digests` that no Image references (read fresh from the store, not the cache); returns them. */
  async collect(digests: string[], why: string): Promise<string[]> {
    const at = Date.now();
    const refs = await this.referenced();
    const gone: string[] = [];
    for (const d of digests) {
      if (refs.has(d) || !(await this.blobs.remove(d, at))) continue;
      gone.push(d);
      this.log.info({ sha256: d, why }, "image blob deleted");
    }
    this.deletedTotal += gone.length;
    this.deleted.inc(gone.length);
    return gone;
  }

  /** Deletes unreferenced blobs older than the grace period and stale temp files. */
  async sweep(now = Date.now()): Promise<number> {
    const stale = (await this.blobs.list()).filter((b) => now - b.mtimeMs > ORPHAN_GRACE_MS).map((b) => b.digest);
    const n = stale.length ? (await this.collect(stale, "unreferenced (sweep)")).length : 0;
    await this.blobs.sweepTmp();
    this.lastSweep = new Date(now).toISOString();
    return n;
  }

  /** Waits for queued collections (tests). */
  idle(): Promise<void> {
    return this.chain;
  }

  /** State for /debug/state. */
  snapshot() {
    return { ...this.blobs.snapshot(), deletedTotal: this.deletedTotal, lastSweep: this.lastSweep };
  }
}
