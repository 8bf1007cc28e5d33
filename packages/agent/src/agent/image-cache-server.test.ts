// ImageCache against the real API server in this process (startTestServer): an image uploaded through
// the blob endpoint is downloaded over HTTPS with the agent's own client and transport, verified and
// stored by digest; a re-upload under the same name is noticed; the token is required.
// The server package is imported at run time (the agent's build does not depend on it): the test is
// skipped, saying why, when packages/server is not built.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:https";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Image, ImageKind } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { createNodeFetch } from "@kumo/runtime";
import { ImageCache, blobPath } from "./image-cache.js";

interface TestServerLike {
  url: string;
  caCert: string;
  adminToken: string;
  stop(): Promise<void>;
}

const serverModule = "@kumo/server/testing";
const mod = (await import(serverModule).catch(() => undefined)) as { startTestServer(): Promise<TestServerLike> } | undefined;
const skip = mod ? undefined : "packages/server is not built (npx tsc -b packages/server): @kumo/server/testing not importable";

describe("ImageCache against the API server's blob endpoint", { skip }, () => {
  let s: TestServerLike;
  let tmp = "";
  let client: KumoClient;

  // Raw PUT of a blob, as `kumo image upload` sends it.
  const put = (image: string, part: string, body: Buffer, sha = createHash("sha256").update(body).digest("hex")) =>
    new Promise<number>((resolve, reject) => {
      const u = new URL(`${s.url}${blobPath(image, part)}?sha256=${sha}`);
      const req = request(
        {
          hostname: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method: "PUT",
          ca: s.caCert,
          headers: {
            authorization: `Bearer ${s.adminToken}`,
            "content-type": "application/octet-stream",
            "content-length": String(body.length),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  const cacheFor = (c: KumoClient, dir: string) =>
    new ImageCache({
      dir,
      fetchBlob: (image, part, signal) => c.request("GET", blobPath(image, part), { accept: "application/octet-stream", signal }),
    });

  before(async () => {
    s = await mod!.startTestServer();
    tmp = await mkdtemp(join(tmpdir(), "kumo-image-server-"));
    client = new KumoClient({ server: s.url, token: s.adminToken, fetch: createNodeFetch({ caPem: s.caCert }) });
  });

  after(async () => {
    await s?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("downloads what was uploaded, verified, by digest; then a hit", async () => {
    const kernel = Buffer.alloc(3 * 1024 * 1024, 7);
    const initrd = Buffer.from("initramfs".repeat(1000));
    await client.create(ImageKind, {
      apiVersion: "compute.kumo.dev/v1",
      kind: "Image",
      metadata: { name: "tiny" },
      spec: { format: "kernel+initrd" },
    });
    assert.equal(await put("tiny", "kernel", kernel), 200);
    assert.equal(await put("tiny", "initrd", initrd, "f".repeat(64)), 422, "the server refuses a body that does not match its digest");
    assert.equal(await put("tiny", "initrd", initrd), 200);
    const img = await client.get<Image>(ImageKind, undefined, "tiny");
    assert.equal(img.status?.phase, "Ready");
    const cache = cacheFor(client, join(tmp, "c1"));
    const got = await cache.ensure(img);
    assert.deepEqual([got.hit, got.downloadedBytes], [false, kernel.length + initrd.length]);
    assert.ok((await readFile(got.files.kernel)).equals(kernel));
    assert.ok((await readFile(got.files.initrd)).equals(initrd));
    assert.equal((await cache.ensure(img)).hit, true);
  });

  it("notices a re-upload the agent's copy of the image does not know about", async () => {
    const stale = await client.get<Image>(ImageKind, undefined, "tiny");
    assert.equal(await put("tiny", "kernel", Buffer.from("a different kernel")), 200);
    await assert.rejects(cacheFor(client, join(tmp, "c2")).ensure(stale), /server sends sha256 .* the image status says/);
  });

  it("needs the token", async () => {
    const img = await client.get<Image>(ImageKind, undefined, "tiny");
    const anon = new KumoClient({ server: s.url, fetch: createNodeFetch({ caPem: s.caCert }) });
    await assert.rejects(cacheFor(anon, join(tmp, "c3")).ensure(img), (e: Error & { code?: number }) => e.code === 401);
  });
});
