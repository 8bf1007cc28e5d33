import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensurePki } from "@kumo/server/pki";
import { splitLines } from "@kumo/client";
import { createNodeFetch } from "@kumo/runtime";

let dir: string;
let server: Server;
let base: string;
let caPem: string;
let otherCa: string;
let streamClosed: Promise<void>;
let markStreamClosed: () => void;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kumo-transport-"));
  const pki = await ensurePki(join(dir, "pki"), ["127.0.0.1"]);
  caPem = pki.caCert;
  otherCa = (await ensurePki(join(dir, "other"), ["127.0.0.1"])).caCert;
  streamClosed = new Promise((r) => (markStreamClosed = r));
  server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    if (req.url === "/echo") {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "x-multi": ["a", "b"] });
        res.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body: Buffer.concat(chunks).toString() }));
      });
      return;
    }
    if (req.url === "/empty") {
      res.writeHead(204).end();
      return;
    }
    if (req.url === "/stream") {
      // Lines arrive in pieces and over time; the stream never ends by itself.
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"n":1}\n{"n"');
      setTimeout(() => res.write(":2}\n"), 20);
      res.on("close", () => markStreamClosed());
      return;
    }
    res.writeHead(404).end("nope");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

test("requests go out with method, headers and body; the response is a WHATWG Response", async () => {
  const f = createNodeFetch({ caPem });
  const res = await f(`${base}/echo`, { method: "POST", headers: { Authorization: "Bearer t" }, body: '{"a":1}' });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get("x-multi"), "a, b");
  assert.deepEqual(await res.json(), { method: "POST", auth: "Bearer t", body: '{"a":1}' });
  const empty = await f(`${base}/empty`);
  assert.equal(empty.status, 204);
  assert.equal(empty.body, null);
});

test("the body streams: lines are readable before the response ends, and abort closes the connection", async () => {
  const f = createNodeFetch({ caPem });
  const ac = new AbortController();
  const res = await f(`${base}/stream`, { signal: ac.signal });
  const lines: string[] = [];
  const reading = (async () => {
    for await (const l of splitLines(res.body as ReadableStream<Uint8Array>)) {
      lines.push(l);
      if (lines.length === 2) ac.abort();
    }
  })();
  await assert.rejects(reading, (e: Error) => e.name === "AbortError");
  assert.deepEqual(lines, ['{"n":1}', '{"n":2}']);
  await streamClosed; // the server saw the connection go away
});

test("a server certificate from another CA is refused; insecure skips the check", async () => {
  const err = await createNodeFetch({ caPem: otherCa })(`${base}/echo`).catch((e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.match(String((err as NodeJS.ErrnoException).code), /CERT|SIGNATURE|SELF_SIGNED/);
  const res = await createNodeFetch({ insecure: true })(`${base}/empty`);
  assert.equal(res.status, 204);
});

test("a refused connection rejects with ECONNREFUSED (the CLI turns it into its one-line hint)", async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const err = await createNodeFetch({ caPem })(`https://127.0.0.1:${port}/`).catch((e: unknown) => e);
  assert.equal((err as NodeJS.ErrnoException).code, "ECONNREFUSED");
});
