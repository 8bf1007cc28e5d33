/** Image blobs over real HTTPS: verified uploads, content-addressed storage, verified downloads, authorization, collection. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { startTestServer, type TestServer } from "../../testing.js";
import { cond, eventsFor, P, sha256, until } from "./test-support.js";

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s?.stop();
});

const image = (name: string, format: string) => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Image",
  metadata: { name },
  spec: { format },
});
// The test client sends strings as UTF-8, so bodies here are ASCII (one byte per character).
const put = (name: string, part: string, body: string, digest = sha256(body), token?: string) =>
  s.call("PUT", `${P.images}/${name}/blobs/${part}?sha256=${digest}`, { body, contentType: "application/octet-stream", token });
const stored = async () => readdir(join(s.dataDir, "blobs", "sha256"));
const temps = async () => readdir(join(s.dataDir, "blobs", "tmp"));

describe("image blobs", () => {
  it("stores a verified upload content-addressed and makes the image Ready only when every part is there", async () => {
    assert.equal((await s.call("POST", P.images, { body: image("tiny-vm", "kernel+initrd") })).status, 201);
    const kernel = "kernel bytes ".repeat(1000);
    const up = await put("tiny-vm", "kernel", kernel);
    assert.equal(up.status, 200, up.text);
    assert.deepEqual(up.body.status.blobs.kernel, { sha256: sha256(kernel), size: kernel.length });
    assert.equal(up.body.status.phase, "Pending");
    assert.equal(cond(up.body, "Ready").reason, "PartsMissing");
    assert.match(cond(up.body, "Ready").message, /initrd/);
    const done = await put("tiny-vm", "initrd", "initramfs");
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.status.phase, "Ready");
    assert.equal(cond(done.body, "Ready").status, "True");
    assert.ok((await stored()).includes(sha256(kernel)));
    assert.deepEqual(await temps(), []);
    const ev = (await eventsFor(s, "tiny-vm")).filter((e) => e.reason === "BlobStored").map((e) => e.message);
    assert.equal(ev.length, 2);
    assert.ok(
      ev.some((m) => m.includes(`part initrd: sha256:${sha256("initramfs")}`) && m.endsWith("image Ready")),
      ev.join(" | "),
    );
  });

  it("refuses a corrupted upload with 422 naming both digests and keeps nothing", async () => {
    await s.call("POST", P.images, { body: image("disk1", "qcow2") });
    const before = await stored();
    const claimed = sha256("the real disk");
    const r = await put("disk1", "disk", "a corrupted disk", claimed);
    assert.equal(r.status, 422);
    assert.equal(r.body.reason, "Invalid");
    assert.ok(
      r.body.message.includes(`expected ${claimed}`) && r.body.message.includes(`actual ${sha256("a corrupted disk")}`),
      r.body.message,
    );
    assert.deepEqual(await stored(), before, "no blob written");
    assert.deepEqual(await temps(), [], "no temp file left");
    const img = (await s.call("GET", `${P.images}/disk1`)).body;
    assert.equal(img.status?.blobs, undefined);
    const metrics = (await s.call("GET", "/metrics")).text;
    assert.match(metrics, /kumo_images_blob_verification_failures_total\{stage="upload"\} 1/);
    const ev = await until("Warning event", async () => (await eventsFor(s, "disk1")).find((e) => e.reason === "BlobDigestMismatch"));
    assert.equal(ev.type, "Warning");
  });

  it("refuses unknown parts, bad digests and missing images", async () => {
    await s.call("POST", P.images, { body: image("rootfs1", "rootfs-tar") });
    const part = await put("rootfs1", "kernel", "x");
    assert.equal(part.status, 422);
    assert.match(part.body.message, /unknown part "kernel" for format rootfs-tar; its parts are: rootfs/);
    const bad = await s.call("PUT", `${P.images}/rootfs1/blobs/rootfs?sha256=xyz`, { body: "x", contentType: "application/octet-stream" });
    assert.equal(bad.status, 422);
    assert.match(bad.body.message, /sha256/);
    assert.equal((await put("nope", "rootfs", "x")).status, 404);
    assert.equal((await s.call("GET", `${P.images}/rootfs1/blobs/rootfs`)).status, 404, "nothing uploaded yet");
    assert.deepEqual(await temps(), []);
  });

  it("serves a blob with Content-Length and X-Kumo-Sha256, bigger than the JSON body limit", async () => {
    await s.call("POST", P.images, { body: image("big", "raw") });
    const bytes = Buffer.alloc(5 * 1024 * 1024 + 17);
    for (let i = 0; i < bytes.length; i++) bytes[i] = 97 + ((i * 31 + 7) % 26);
    const body = bytes.toString("ascii");
    assert.equal((await put("big", "disk", body)).status, 200);
    const r = await s.call("GET", `${P.images}/big/blobs/disk`);
    assert.equal(r.status, 200);
    assert.equal(r.headers["content-length"], String(body.length));
    assert.equal(r.headers["x-kumo-sha256"], sha256(body));
    assert.equal(sha256(r.text), sha256(body));
    const metrics = (await s.call("GET", "/metrics")).text;
    assert.match(metrics, /kumo_images_blob_bytes_total\{direction="download"\} [1-9]/);
  });

  it("refuses to serve a blob that rotted on disk, naming its digest", async () => {
    await s.call("POST", P.images, { body: image("rot", "raw") });
    const content = "pristine disk image";
    assert.equal((await put("rot", "disk", content)).status, 200);
    assert.equal((await s.call("GET", `${P.images}/rot/blobs/disk`)).text, content, "verified and served once");
    await writeFile(join(s.dataDir, "blobs", "sha256", sha256(content)), "pristine disk imagf");
    const r = await s.call("GET", `${P.images}/rot/blobs/disk`);
    assert.equal(r.status, 500);
    assert.ok(r.body.message.includes(sha256(content)) && /corrupted/.test(r.body.message), r.body.message);
    assert.ok(!r.text.includes("pristine"), "no corrupt bytes served");
    assert.match((await s.call("GET", "/metrics")).text, /kumo_images_blob_verification_failures_total\{stage="stored"\} 1/);
    assert.equal((await put("rot", "disk", content)).status, 200, "re-uploading heals it");
    assert.equal((await s.call("GET", `${P.images}/rot/blobs/disk`)).text, content);
  });

  it("authorizes like the images resource: get to download, update to upload", async () => {
    await s.call("POST", P.images, { body: image("shared", "rootfs-tar") });
    assert.equal((await put("shared", "rootfs", "tree")).status, 200);
    await s.call("POST", "/apis/iam.kumo.dev/v1/users", {
      body: { apiVersion: "iam.kumo.dev/v1", kind: "User", metadata: { name: "reader" }, spec: {} },
    });
    await s.call("POST", "/apis/iam.kumo.dev/v1/roles", {
      body: {
        apiVersion: "iam.kumo.dev/v1",
        kind: "Role",
        metadata: { name: "image-reader" },
        rules: [{ apiGroups: ["compute.kumo.dev"], resources: ["images"], verbs: ["get"] }],
      },
    });
    await s.call("POST", "/apis/iam.kumo.dev/v1/clusterrolebindings", {
      body: {
        apiVersion: "iam.kumo.dev/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "reader-images" },
        roleRef: { name: "image-reader" },
        subjects: [{ kind: "User", name: "reader" }],
      },
    });
    const tok = (
      await s.call("POST", "/apis/iam.kumo.dev/v1/tokens", {
        body: { apiVersion: "iam.kumo.dev/v1", kind: "Token", metadata: { name: "reader-1" }, spec: { user: "reader" } },
      })
    ).body.status.bearerToken;
    const got = await until("reader token active", async () => {
      const r = await s.call("GET", `${P.images}/shared/blobs/rootfs`, { token: tok });
      return r.status === 200 && r;
    });
    assert.equal(got.text, "tree");
    const denied = await put("shared", "rootfs", "other tree", undefined, tok);
    assert.equal(denied.status, 403);
    assert.match(denied.body.message, /cannot update resource "images"/);
    assert.equal((await s.call("GET", `${P.images}/shared/blobs/rootfs`, { token: null })).status, 401);
  });

  it("deletes an image's blobs with it, unless another image references the same digest", async () => {
    const same = "identical layer";
    for (const n of ["twin-a", "twin-b"]) {
      await s.call("POST", P.images, { body: image(n, "rootfs-tar") });
      assert.equal((await put(n, "rootfs", same)).status, 200);
    }
    await s.call("POST", P.images, { body: image("solo", "rootfs-tar") });
    assert.equal((await put("solo", "rootfs", "unique layer")).status, 200);
    assert.equal((await stored()).filter((d) => d === sha256(same)).length, 1, "stored once");
    assert.equal((await s.call("DELETE", `${P.images}/twin-a`)).status, 200);
    assert.equal((await s.call("DELETE", `${P.images}/solo`)).status, 200);
    await until("solo's blob collected", async () => !(await stored()).includes(sha256("unique layer")));
    await until("collection event", async () => (await eventsFor(s, "solo")).some((e) => e.reason === "BlobsDeleted"));
    assert.ok((await stored()).includes(sha256(same)), "still referenced by twin-b");
    assert.equal((await s.call("GET", `${P.images}/twin-b/blobs/rootfs`)).text, same);
    assert.equal((await s.call("DELETE", `${P.images}/twin-b`)).status, 200);
    await until("shared blob collected with its last image", async () => !(await stored()).includes(sha256(same)));
  });
});
