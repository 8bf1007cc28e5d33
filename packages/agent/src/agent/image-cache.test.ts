// ImageCache against a real HTTP server on loopback (node:http serving blobs the way the API's blob
// endpoint does: raw body + X-Kumo-Sha256): download, verify, content addressing, one download for
// concurrent callers, corrupt transfers discarded, rootfs-tar unpacked once.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Image, ImageFormat } from "@kumo/api";
import { runOk } from "@kumo/runtime/proc";
import { ImageCache, blobPath } from "./image-cache.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("ImageCache (loopback HTTP server)", () => {
  let tmp = "";
  let server: Server;
  let base = "";
  let tarball: Buffer;
  const blobs = new Map<string, { body: Buffer; header?: string }>(); // request path → response
  const requests: string[] = [];

  const image = (name: string, format: ImageFormat, parts: Record<string, Buffer>, lie?: Record<string, string>): Image => {
    const st: Record<string, { sha256: string; size: number }> = {};
    for (const [part, body] of Object.entries(parts)) {
      st[part] = { sha256: lie?.[part] ?? sha(body), size: body.length };
      blobs.set(blobPath(name, part), { body, header: sha(body) });
    }
    return {
      apiVersion: "compute.kumo.dev/v1",
      kind: "Image",
      metadata: { name },
      spec: { format },
      status: { phase: "Ready", blobs: st },
    };
  };
  const cache = (dir = join(tmp, "cache")) =>
    new ImageCache({
      dir,
      fetchBlob: async (img, part) => {
        const res = await fetch(base + blobPath(img, part));
        if (!res.ok) throw new Error(`GET ${blobPath(img, part)}: ${res.status}`);
        return res;
      },
    });

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "kumo-image-cache-"));
    const src = join(tmp, "src");
    await mkdir(join(src, "bin"), { recursive: true });
    await writeFile(join(src, "bin", "hello"), "#!/bin/sh\necho hello\n", { mode: 0o755 });
    await runOk("tar", ["-cf", join(tmp, "rootfs.tar"), "-C", src, "."]);
    tarball = await readFile(join(tmp, "rootfs.tar"));
    server = createServer((req, res) => {
      requests.push(req.url ?? "");
      const b = blobs.get(req.url ?? "");
      if (!b) return void res.writeHead(404).end();
      // A slow first chunk, so concurrent callers really overlap.
      res.writeHead(200, { "content-type": "application/octet-stream", ...(b.header ? { "x-kumo-sha256": b.header } : {}) });
      setTimeout(() => res.end(b.body), 30);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("downloads, verifies and stores by digest; unpacks a rootfs once; then serves hits without requests", async () => {
    const img = image("busybox", "rootfs-tar", { rootfs: tarball });
    const c = cache();
    assert.equal(await c.has(img), false);
    const [a, b] = await Promise.all([c.ensure(img), c.ensure(img)]);
    assert.equal(requests.filter((r) => r.includes("/busybox/")).length, 1, "concurrent callers share one download");
    assert.deepEqual([a.hit, b.hit], [false, false]);
    assert.equal(a.files.rootfs, c.blobFile(sha(tarball)));
    assert.deepEqual(await readFile(a.files.rootfs), tarball);
    assert.equal(await readFile(join(a.rootfs!, "bin", "hello"), "utf8"), "#!/bin/sh\necho hello\n");
    assert.equal((await stat(a.rootfs!)).mode & 0o777, 0o555, "shared lower layer is read-only");
    const hit = await c.ensure(img);
    assert.deepEqual([hit.hit, hit.downloadedBytes], [true, 0]);
    assert.equal(requests.filter((r) => r.includes("/busybox/")).length, 1, "a hit makes no request");
    const both = await Promise.all([c.ensure(img), c.ensure(img)]);
    assert.deepEqual(
      both.map((x) => x.hit),
      [true, true],
      "joining a cache check is a hit too",
    );
    assert.deepEqual([c.stats.hits, c.stats.downloads, c.stats.downloadedBytes, c.stats.unpacks], [3, 1, tarball.length, 1]);
    // A new cache over the same directory (agent restart) finds everything.
    assert.equal(await cache().has(img), true);
  });

  it("kernel+initrd: both parts, each by its own digest", async () => {
    const kernel = Buffer.from("kernel-bytes".repeat(1000));
    const initrd = Buffer.from("initrd-bytes".repeat(500));
    const img = image("tiny-vm", "kernel+initrd", { kernel, initrd });
    const got = await cache().ensure(img);
    assert.deepEqual(await readFile(got.files.kernel), kernel);
    assert.deepEqual(await readFile(got.files.initrd), initrd);
    assert.equal(got.rootfs, undefined);
  });

  it("discards a transfer whose sha256 does not match and leaves nothing under the digest", async () => {
    const body = Buffer.from("the real bytes");
    const wrong = "0".repeat(64);
    const img = image("corrupt", "raw", { disk: body }, { disk: wrong });
    // The server announces the digest of what it sends: that alone must stop the download.
    const c = cache(join(tmp, "cache-corrupt"));
    await assert.rejects(c.ensure(img), /server sends sha256/);
    // Without the header, the bytes themselves are hashed and refused.
    blobs.get(blobPath("corrupt", "disk"))!.header = undefined;
    await assert.rejects(c.ensure(img), /expected 14 bytes with 000000000000… \(discarded\)/);
    assert.equal(c.stats.checksumFailures, 1);
    await assert.rejects(stat(c.blobFile(wrong)));
    assert.deepEqual(await readdir(join(tmp, "cache-corrupt", "tmp")), [], "no temp file left");
  });

  it("refuses images without every blob of their format", async () => {
    const img: Image = {
      apiVersion: "compute.kumo.dev/v1",
      kind: "Image",
      metadata: { name: "half" },
      spec: { format: "kernel+initrd" },
      status: { phase: "Ready", blobs: { kernel: { sha256: "1".repeat(64), size: 1 } } },
    };
    await assert.rejects(cache().ensure(img), /no uploaded initrd blob/);
  });
});
