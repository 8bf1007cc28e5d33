/**
 * Image blob collector (a controller, not an admission hook, so a delete through any path, including the
 * garbage collector and namespace teardown, frees the bytes): when an Image is deleted, or one of its parts
 * is replaced by another upload, each digest it no longer references is deleted from the blob store unless
 * another Image still references it (identical content is stored once). A periodic sweep removes stored
 * blobs no Image references (an upload whose Image vanished before its status was written) once they are
 * older than a grace period, and temp files of uploads that are no longer running. One worker: a sweep and a
 * collection never decide on the same file at once.
 */
import { ImageKind, type KObject } from "@kumo/api";
import { Controller, periodicSource } from "@kumo/runtime";
import type { Logger } from "pino";
import { Counter, type Registry } from "prom-client";
import type { BlobStore } from "../../images/blob-store.js";
import { digestsOf } from "../../images/image-status.js";
import { type Change, isChangeOf, LocalInformer } from "../../informers/local-informer.js";
import { EventRecorder } from "../../observability/events.js";
import type { ObjectStore } from "../../registry/store.js";
import type { WatchCache } from "../../registry/watch-cache.js";

/** Unreferenced blobs younger than this survive a sweep: their upload may still be writing the Image status. */
const ORPHAN_GRACE_MS = 10 * 60_000;
const SWEEP = "sweep";

/** Digests an Image change stopped referencing, kept until they are collected. */
interface Dropped {
  image: KObject;
  digests: string[];
  why: string;
}

/** Deletes blobs no Image references. */
export class ImageBlobCollector {
  readonly loop: Controller;
  private readonly deleted: Counter;
  private readonly events: EventRecorder;
  /** Work queued by Image changes, by key (`image@uid#resourceVersion`: each change is its own item). */
  private readonly dropped = new Map<string, Dropped>();
  deletedTotal = 0;
  lastSweep?: string;

  constructor(
    private readonly store: ObjectStore,
    cache: WatchCache,
    private readonly blobs: BlobStore,
    private readonly log: Logger,
    registry: Registry,
    sweepMs = 5 * 60_000,
  ) {
    this.deleted = new Counter({
      name: "kumo_images_blob_gc_deleted_total",
      help: "Stored image blobs deleted because no Image references them any more",
      registers: [registry],
    });
    this.events = new EventRecorder(store, "kumo-image-service", log);
    const informer = new LocalInformer("images", store, cache, [ImageKind], (c, enqueue) => this.onChange(c, enqueue));
    this.loop = new Controller({
      name: "image-gc",
      log,
      workers: 1,
      sources: [informer, periodicSource("sweep", sweepMs, SWEEP, { atStart: false })],
      reconciler: (_ctx, key) => this.reconcile(key),
      debug: () => ({ ...this.blobs.snapshot(), deletedTotal: this.deletedTotal, lastSweep: this.lastSweep, pending: this.dropped.size }),
    });
  }

  private onChange(c: Change, enqueue: (key: string) => void): void {
    if (!isChangeOf(c, ImageKind)) return; // the informer follows Images only
    const { type, obj, prev } = c;
    const digestsNow = digestsOf(obj.status);
    const before = type === "DELETED" ? digestsNow : digestsOf(prev?.status);
    const after = type === "DELETED" ? new Set<string>() : digestsNow;
    const digests = [...before].filter((d) => !after.has(d));
    if (!digests.length) return;
    const key = `${obj.metadata.name}@${obj.metadata.uid}#${obj.metadata.resourceVersion}`;
    this.dropped.set(key, { image: obj, digests, why: `image ${obj.metadata.name} ${type === "DELETED" ? "deleted" : "part replaced"}` });
    enqueue(key);
  }

  /** Collects what one Image change dropped (and records it on the Image), or sweeps. */
  async reconcile(key: string): Promise<void> {
    if (key === SWEEP) {
      await this.sweep();
      return;
    }
    const d = this.dropped.get(key);
    if (!d) return;
    const gone = await this.collect(d.digests, d.why);
    this.dropped.delete(key);
    if (!gone.length) return;
    const names = gone.map((x) => `sha256:${x.slice(0, 12)}`).join(", ");
    const it = gone.length === 1 ? "it" : "them";
    await this.events.record(d.image, "Normal", "BlobsDeleted", `deleted ${names}: no image references ${it} any more`);
  }

  private async referenced(): Promise<Set<string>> {
    const refs = new Set<string>();
    for (const img of (await this.store.list(ImageKind, undefined)).items) {
      for (const d of digestsOf(img.status)) refs.add(d);
    }
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
}
