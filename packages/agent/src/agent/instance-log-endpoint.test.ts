// The agent's instance log endpoint over real HTTP on loopback: the proxy token, the tail, and follow=true
// streaming a temp file as it grows, ended by a client that disconnects (the watcher goes with it) or by
// the instance leaving the host.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { type IncomingMessage, type Server, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type LogRequestCounts, serveInstanceLog } from "./instance-log-endpoint.js";

const TOKEN = "proxy-secret";
let dir = "";
let base = "";
let server: Server;
const files = new Map<string, string>();
const counts: LogRequestCounts = { ok: 0, refused: 0, not_found: 0, error: 0 };
/** Resolved each time a request's handler returned (for a follow: when the follow ended). */
const handled: { url: string; at: number }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kumo-log-endpoint-"));
  const source = {
    logs: async (ns: string, name: string, tail?: number) => {
      const f = files.get(`${ns}/${name}`);
      if (!f) return undefined;
      return (await readFile(f, "utf8")).slice(-(tail ?? 1 << 20));
    },
    logFile: (ns: string, name: string) => files.get(`${ns}/${name}`),
  };
  const log = { warn: () => undefined };
  server = createServer((req, res) => {
    // A rejection reaches the test as a broken response.
    serveInstanceLog(req, res, { source, host: "h1", proxyTokenFile: join(dir, "proxy.token"), counts, log, pollMs: 100 }).then(
      () => handled.push({ url: req.url ?? "", at: Date.now() }),
      (e: unknown) => res.destroy(e as Error),
    );
  });
  await writeFile(join(dir, "proxy.token"), `${TOKEN}\n`);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

/** A response being read: what arrived so far, when it closed, and a way to disconnect. */
interface Reading {
  res: IncomingMessage;
  text: () => string;
  ended: Promise<void>;
  close: () => void;
}

/** Opens a request and hands back the response as it streams. */
function open(path: string, token: string | undefined = TOKEN): Promise<Reading> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (buf += c));
      const ended = new Promise<void>((r) => res.on("close", () => r()));
      resolve({ res, text: () => buf, ended, close: () => req.destroy() });
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** inotify watches this process holds (fs.watch handles). */
const watchers = () => process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length;

describe("instance log endpoint", { timeout: 20_000 }, () => {
  it("serves the tail to the proxy token only", async () => {
    const f = join(dir, "web.log");
    await writeFile(f, "line 1\nline 2\n");
    files.set("default/web", f);
    const refused = await open("/debug/instances/default/web/logs", "someone-else");
    await refused.ended;
    assert.equal(refused.res.statusCode, 401);
    assert.doesNotMatch(refused.text(), /line/);
    const tail = await open("/debug/instances/default/web/logs?tailBytes=7");
    await tail.ended;
    assert.deepEqual([tail.res.statusCode, tail.text()], [200, "line 2\n"]);
    const missing = await open("/debug/instances/default/nope/logs?follow=true");
    await missing.ended;
    assert.equal(missing.res.statusCode, 404);
    assert.match(missing.text(), /no instance default\/nope on host h1/);
    assert.ok(counts.refused >= 1 && counts.ok >= 1 && counts.not_found >= 1, JSON.stringify(counts));
  });

  it("follows: the tail, then each appended line; a disconnect ends the follow and its watcher", async () => {
    const f = join(dir, "c1.log");
    await writeFile(f, "old old old\nlast before\n");
    files.set("default/c1", f);
    const idle = watchers();
    const done = handled.length;
    const s = await open("/debug/instances/default/c1/logs?follow=true&tailBytes=12");
    assert.equal(s.res.statusCode, 200);
    assert.equal(s.res.headers["transfer-encoding"], "chunked");
    await until("the tail", () => s.text() === "last before\n");
    assert.equal(watchers(), idle + 1, "one watcher while following");
    for (const n of [1, 2, 3]) {
      await appendFile(f, `new ${n}\n`);
      await until(`line ${n}`, () => s.text().endsWith(`new ${n}\n`));
    }
    assert.equal(s.text(), "last before\nnew 1\nnew 2\nnew 3\n");
    s.close();
    await until("the follow to end", () => handled.length > done);
    assert.equal(handled.at(-1)!.url, "/debug/instances/default/c1/logs?follow=true&tailBytes=12");
    await until("the watcher to close", () => watchers() === idle);
  });

  it("starts over when the file is truncated, and ends the stream when the instance goes away", async () => {
    const f = join(dir, "v1.log");
    await writeFile(f, "boot 1\n");
    files.set("default/v1", f);
    const s = await open("/debug/instances/default/v1/logs?follow=1");
    await until("the first boot", () => s.text() === "boot 1\n");
    await writeFile(f, "b2\n");
    await until("the file read from its start", () => s.text() === "boot 1\nb2\n");
    files.delete("default/v1");
    await s.ended;
    assert.equal(s.res.complete, true, "the agent ended the response (not an aborted socket)");
  });
});
