/**
 * Image blob endpoints, mounted before the generic resource handler (behind the same authentication):
 *
 *   PUT /apis/compute.kumo.dev/v1/images/NAME/blobs/PART?sha256=HEX   raw body, streamed (no JSON body limit)
 *   GET /apis/compute.kumo.dev/v1/images/NAME/blobs/PART              Content-Length + X-Kumo-Sha256
 *
 * Authorization is the images resource's: `update` to upload, `get` to download. An upload is stored only
 * when its bytes hash to `sha256` (422 naming both digests otherwise); then the Image's status names the
 * blob, and the image is Ready once every part of its format is there.
 */
import { Readable } from "node:stream";
import type { Context, Hono } from "hono";
import { ApiError, forbidden, IMAGE_PARTS, ImageKind, internalError, invalid, tooLarge } from "@kumo/api";
import { Counter, Histogram, type Registry } from "prom-client";
import type { AppEnv } from "./app.js";
import type { ApiDeps } from "./deps.js";
import type { RequestInfo } from "./request-info.js";
import { sendJson } from "./resources.js";
import { BlobCorrupted, BlobDigestMismatch, BlobTooLarge, type BlobStore, type OpenBlob } from "../images/blob-store.js";
import { partsOf, withBlob } from "../images/image-status.js";
import { EventRecorder } from "../observability/events.js";

/** URL pattern of one image part. */
export const BLOB_PATH = "/apis/compute.kumo.dev/v1/images/:name/blobs/:part";
/** Response header carrying the blob's digest (agents verify what they received against it). */
export const SHA256_HEADER = "X-Kumo-Sha256";
const MANAGER = "kumo-image-service";

interface BlobMetrics {
  bytes: Counter;
  upload: Histogram;
  download: Histogram;
  verifyFailures: Counter;
}

const byRegistry = new WeakMap<Registry, BlobMetrics>();

function blobMetrics(registry: Registry): BlobMetrics {
  let m = byRegistry.get(registry);
  if (m) return m;
  const buckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900];
  m = {
    bytes: new Counter({
      name: "kumo_images_blob_bytes_total",
      help: "Image blob bytes received (upload) and sent (download)",
      labelNames: ["direction"],
      registers: [registry],
    }),
    upload: new Histogram({
      name: "kumo_images_blob_upload_duration_seconds",
      help: "Image blob upload time by result",
      labelNames: ["result"],
      buckets,
      registers: [registry],
    }),
    download: new Histogram({
      name: "kumo_images_blob_download_duration_seconds",
      help: "Image blob download time by result",
      labelNames: ["result"],
      buckets,
      registers: [registry],
    }),
    verifyFailures: new Counter({
      name: "kumo_images_blob_verification_failures_total",
      help: "sha256 mismatches: of an upload against its announced digest, or of a stored blob against its name",
      labelNames: ["stage"],
      registers: [registry],
    }),
  };
  for (const d of ["upload", "download"]) m.bytes.labels(d).inc(0);
  for (const s of ["upload", "stored"]) m.verifyFailures.labels(s).inc(0);
  byRegistry.set(registry, m);
  return m;
}

async function* chunks(body: ReadableStream<Uint8Array> | null): AsyncIterable<Uint8Array> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Adds the blob routes to `app`. */
export function mountBlobRoutes(app: Hono<AppEnv>, d: ApiDeps, blobs: BlobStore): void {
  const m = blobMetrics(d.metrics.registry);
  const events = new EventRecorder(d.store, MANAGER, d.log);
  const target = (name: string) => ({ group: ImageKind.group, kind: ImageKind.kind, resource: "images", name });

  /** Authorizes as the images resource and labels the request for the request metrics and the audit log. */
  const admit = (c: Context<AppEnv>, verb: "get" | "update") => {
    const name = c.req.param("name")!;
    // "blobs" is not a store subresource; labelled so metrics and audit show images/blobs.
    c.set("info", {
      group: ImageKind.group,
      version: ImageKind.version,
      kind: ImageKind,
      name,
      verb,
      subresource: "blobs" as unknown as RequestInfo["subresource"],
    });
    const user = c.get("user");
    if (!d.iam.authorize(user, verb, ImageKind.group, "images", undefined, name)) {
      throw forbidden(
        `images.${ImageKind.group} "${name}" is forbidden: User "${user.name}" cannot ${verb} resource "images" ` +
          `in API group "${ImageKind.group}" at the cluster scope`,
      );
    }
    return { name, part: c.req.param("part")!, user };
  };

  app.put(BLOB_PATH, async (c) => {
    const { name, part, user } = admit(c, "update");
    const digest = (c.req.query("sha256") ?? "").toLowerCase();
    if (!/^[0-9a-f]{64}$/.test(digest))
      throw invalid(target(name), [
        {
          field: "sha256",
          message: "query parameter sha256 must be the 64 hex digits of the body's SHA-256 (sha256sum FILE)",
          reason: "FieldValueRequired",
        },
      ]);
    const image = await d.store.get(ImageKind, undefined, name);
    const spec = image.spec;
    const parts = partsOf(spec);
    if (!parts)
      throw invalid(target(name), [
        {
          field: "spec.format",
          message: `unknown image format "${spec?.format}"; formats: ${Object.keys(IMAGE_PARTS).join(", ")}`,
          reason: "FieldValueNotSupported",
        },
      ]);
    if (!parts.includes(part))
      throw invalid(target(name), [
        {
          field: "part",
          message: `unknown part "${part}" for format ${spec?.format}; its parts are: ${parts.join(", ")}`,
          reason: "FieldValueNotSupported",
        },
      ]);
    const announced = Number(c.req.header("content-length"));
    if (announced > blobs.maxBytes) throw tooLarge(`blob of ${announced} bytes is larger than the limit of ${blobs.maxBytes} bytes`);
    const start = performance.now();
    const unpin = blobs.pin(digest);
    let result = "error";
    try {
      const stored = await blobs.put(chunks(c.req.raw.body), digest).catch(async (e) => {
        if (e instanceof BlobDigestMismatch) {
          result = "mismatch";
          m.verifyFailures.labels("upload").inc();
          await events.record(
            image,
            "Warning",
            "BlobDigestMismatch",
            `upload of part ${part} by ${user.name} refused: ${e.message}; nothing was stored`,
          );
          throw invalid(target(name), [
            {
              field: "sha256",
              message: `sha256 mismatch: expected ${e.expected}, actual ${e.actual} (${e.size} bytes received); nothing was stored`,
              reason: "FieldValueInvalid",
            },
          ]);
        }
        if (e instanceof BlobTooLarge) throw tooLarge(e.message);
        throw e;
      });
      m.bytes.labels("upload").inc(stored.size);
      const updated = await d.store.guaranteedUpdate(
        ImageKind,
        undefined,
        name,
        { user: user.name, manager: MANAGER, subresource: "status" },
        (cur) => ({
          ...cur,
          status: withBlob(cur.spec!, cur.status, part, stored),
        }),
      );
      result = "ok";
      d.log.info({ image: name, part, sha256: digest, size: stored.size, deduped: stored.deduped, user: user.name }, "image blob stored");
      const deduped = stored.deduped ? ", content already stored (deduplicated)" : "";
      const ready = updated.status!.phase === "Ready" ? "; image Ready" : "";
      const message = `part ${part}: sha256:${digest} (${stored.size} bytes) uploaded by ${user.name}${deduped}${ready}`;
      await events.record(updated, "Normal", "BlobStored", message);
      return sendJson(c, 200, updated);
    } finally {
      unpin();
      m.upload.labels(result).observe((performance.now() - start) / 1000);
    }
  });

  app.get(BLOB_PATH, async (c) => {
    const { name, part } = admit(c, "get");
    const image = await d.store.get(ImageKind, undefined, name);
    const blob = image.status?.blobs?.[part];
    if (!blob) {
      const have = Object.keys(image.status?.blobs ?? {});
      throw new ApiError(
        404,
        "NotFound",
        `image "${name}" has no uploaded blob for part "${part}" (uploaded: ${have.length ? have.join(", ") : "none"})`,
        { name, group: ImageKind.group, kind: "images" },
      );
    }
    const start = performance.now();
    let open: OpenBlob;
    try {
      open = await blobs.open(blob.sha256);
    } catch (e) {
      m.download.labels("error").observe((performance.now() - start) / 1000);
      if (e instanceof BlobCorrupted) {
        m.verifyFailures.labels("stored").inc();
        d.log.error({ image: name, part, sha256: e.digest, actual: e.actual }, "stored image blob is corrupted; refusing to serve it");
        await events.record(
          image,
          "Warning",
          "BlobCorrupted",
          `${e.message}; downloads of part ${part} are refused until it is uploaded again`,
        );
        throw internalError(
          `blob sha256:${e.digest} of image "${name}" part "${part}" is corrupted on disk ` +
            `(its content hashes to ${e.actual}); re-upload the part`,
        );
      }
      if ((e as NodeJS.ErrnoException).code === "ENOENT")
        throw internalError(
          `blob sha256:${blob.sha256} of image "${name}" part "${part}" is missing from the blob store; re-upload the part`,
        );
      throw e;
    }
    const headers = {
      "content-type": "application/octet-stream",
      "content-length": String(open.size),
      [SHA256_HEADER]: blob.sha256,
      etag: `"sha256:${blob.sha256}"`,
    };
    if (c.req.method === "HEAD") {
      await open.handle.close();
      return c.body(null, 200, headers);
    }
    let result = "ok";
    const stream = blobs.stream(
      open,
      blob.sha256,
      (n) => m.bytes.labels("download").inc(n),
      (actual) => {
        result = "corrupted";
        m.verifyFailures.labels("stored").inc();
        d.log.error({ image: name, part, sha256: blob.sha256, actual }, "image blob changed on disk while being served; download aborted");
      },
    );
    stream.once("close", () =>
      m.download.labels(result === "ok" && !stream.readableEnded ? "aborted" : result).observe((performance.now() - start) / 1000),
    );
    return c.body(Readable.toWeb(stream) as ReadableStream, 200, headers);
  });
}
