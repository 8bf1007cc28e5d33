/**
 * `instances/NAME/log?follow=true` over real HTTPS: the server passes the agent's chunked answer on as
 * it comes (each line reaches the client while the agent still holds the stream open, also after the
 * 5 s answer timeout of a plain read), a client that disconnects closes the agent connection, and an
 * agent that ends the stream ends the client's. The agent is a test double on 127.0.0.4 (loopback).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { AGENT_PORT } from "@kumo/api";
import { startTestServer, type TestServer } from "../testing.js";

const NS = "default";
const INSTANCES = `/apis/compute.kumo.dev/v1/namespaces/${NS}/instances`;
const FAKE_AGENT_IP = "127.0.0.4";

let s: TestServer;
let agent: Server | undefined;
/** Open follows on the fake agent, by instance name; `closed` resolves when the server hung up on it. */
const streams = new Map<string, { res: ServerResponse; url: string; closed: Promise<void> }>();

before(async () => {
  s = await startTestServer({ scheduler: false });
  agent = createServer((req, res) => {
    const name = /\/instances\/default\/([^/]+)\/logs/.exec(req.url ?? "")?.[1] ?? "";
    res.writeHead(200, { "content-type": "text/plain" });
    res.write(`hello from ${name}\n`);
    const closed = new Promise<void>((r) => res.on("close", () => r()));
    streams.set(name, { res, url: req.url ?? "", closed });
  });
  await new Promise<void>((res, rej) => agent!.once("error", rej).listen(AGENT_PORT, FAKE_AGENT_IP, () => res()));
  const host = {
    apiVersion: "infra.kumo.dev/v1",
    kind: "Host",
    metadata: { name: "h-follow" },
    spec: { underlayIP: FAKE_AGENT_IP, unschedulable: true },
  };
  assert.equal((await s.call("POST", "/apis/infra.kumo.dev/v1/hosts", { body: host })).status, 201);
  for (const name of ["tailing", "ending"]) {
    const inst = { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name }, spec: { kind: "container", image: "busybox" } };
    assert.equal((await s.call("POST", INSTANCES, { body: inst })).status, 201);
    const placed = await s.call("PATCH", `${INSTANCES}/${name}/status`, {
      body: { status: { host: "h-follow", phase: "Running" } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(placed.status, 200, JSON.stringify(placed.body));
  }
});
after(async () => {
  agent?.closeAllConnections();
  await new Promise((r) => (agent ? agent.close(r) : r(undefined)));
  await s?.stop();
});

/** A streaming GET: what arrived so far, when it ended, and a way to disconnect. */
function follow(path: string): Promise<{ status: number; text: () => string; ended: Promise<boolean>; close: () => void }> {
  const url = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${s.adminToken}` }, ca: s.caCert },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (text += c));
        const ended = new Promise<boolean>((r) => res.on("close", () => r(res.complete)));
        resolve({ status: res.statusCode ?? 0, text: () => text, ended, close: () => req.destroy() });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("instances/NAME/log?follow=true", { timeout: 30_000 }, () => {
  it("streams the agent's lines as they come, past the answer timeout, and a disconnect reaches the agent", async () => {
    const c = await follow(`${INSTANCES}/tailing/log?follow=true&tailBytes=100`);
    assert.equal(c.status, 200);
    await until("the first line, while the agent's stream is still open", () => c.text() === "hello from tailing\n");
    const upstream = streams.get("tailing")!;
    assert.equal(upstream.url, "/debug/instances/default/tailing/logs?tailBytes=100&follow=true");
    upstream.res.write("line 2\n");
    await until("line 2", () => c.text().endsWith("line 2\n"));
    await new Promise((r) => setTimeout(r, 5_500)); // longer than the 5 s a plain log read may take
    upstream.res.write("line 3\n");
    await until("line 3 after the timeout", () => c.text().endsWith("line 3\n"));
    c.close();
    await upstream.closed; // the server hung up on the agent: no tail is left running for nobody
    assert.equal(await c.ended, false);
  });

  it("ends when the agent ends the stream, and refuses a bad follow value", async () => {
    const c = await follow(`${INSTANCES}/ending/log?follow=1`);
    await until("the first line", () => c.text() === "hello from ending\n");
    streams.get("ending")!.res.end("bye\n");
    assert.equal(await c.ended, true, "a complete response");
    assert.equal(c.text(), "hello from ending\nbye\n");
    const bad = await s.call("GET", `${INSTANCES}/ending/log?follow=sometimes`);
    assert.deepEqual([bad.status, bad.body.details?.causes?.[0]?.field], [400, "follow"]);
  });
});
