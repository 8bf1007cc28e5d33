/**
 * `kumo logs` (the real bin/kumo) against an in-process server: it reads only through the API, and -f
 * prints each line as the agent sends it, exits when the stream ends, and on Ctrl-C leaves no follow
 * running on the agent. The agent is a test double on 127.0.0.6 (loopback); the agent's real endpoint
 * and the server's proxy have their own tests.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, type Server, type ServerResponse } from "node:http";
import { AGENT_PORT } from "@kumo/api";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { KUMO_BIN, runKumo } from "../testing.js";

const INSTANCES = "/apis/compute.kumo.dev/v1/namespaces/default/instances";
const FAKE_AGENT_IP = "127.0.0.6";

let s: TestServer;
let agent: Server | undefined;
let env: Record<string, string> = {};
/** The latest request the fake agent got, and its open response. */
let last: { url: string; res: ServerResponse; closed: Promise<void> } | undefined;

before(async () => {
  s = await startTestServer({ scheduler: false });
  env = { KUMO_CONFIG: s.kubeconfigPath, KUMO_HOME: s.dataDir };
  agent = createServer((req, res) => {
    const follow = new URL(req.url ?? "/", "http://agent").searchParams.get("follow") === "true";
    res.writeHead(200, { "content-type": "text/plain" });
    last = { url: req.url ?? "", res, closed: new Promise<void>((r) => res.on("close", () => r())) };
    if (follow) res.write("console line 1\n");
    else res.end("console line 1\n");
  });
  await new Promise<void>((res, rej) => agent!.once("error", rej).listen(AGENT_PORT, FAKE_AGENT_IP, () => res()));
  const host = {
    apiVersion: "infra.kumo.dev/v1",
    kind: "Host",
    metadata: { name: "h-logs" },
    spec: { underlayIP: FAKE_AGENT_IP, unschedulable: true },
  };
  assert.equal((await s.call("POST", "/apis/infra.kumo.dev/v1/hosts", { body: host })).status, 201);
  const inst = {
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: { name: "web" },
    spec: { kind: "container", image: "busybox" },
  };
  assert.equal((await s.call("POST", INSTANCES, { body: inst })).status, 201);
  const placed = await s.call("PATCH", `${INSTANCES}/web/status`, {
    body: { status: { host: "h-logs", phase: "Running" } },
    contentType: "application/merge-patch+json",
  });
  assert.equal(placed.status, 200);
});
after(async () => {
  agent?.closeAllConnections();
  await new Promise((r) => (agent ? agent.close(r) : r(undefined)));
  await s?.stop();
});

/** Starts `kumo args` and collects its stdout as it comes. */
function start(args: string[]) {
  const child = spawn(KUMO_BIN, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("kumo logs", { timeout: 60_000 }, () => {
  it("prints the log read through the API", async () => {
    const r = await runKumo(["logs", "web", "--tail-bytes", "100"], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "console line 1\n");
    assert.equal(last?.url, "/debug/instances/default/web/logs?tailBytes=100");
  });

  it("-f prints lines as the agent sends them and exits when the stream ends", async () => {
    const k = start(["logs", "web", "-f"]);
    await until("the first line", () => k.out() === "console line 1\n");
    assert.match(last!.url, /&follow=true$/);
    last!.res.write("console line 2\n");
    await until("the second line", () => k.out().endsWith("console line 2\n"));
    last!.res.end("bye\n");
    assert.equal(await k.exited, 0, k.err());
    assert.equal(k.out(), "console line 1\nconsole line 2\nbye\n");
  });

  it("-f interrupted: the agent's stream is closed, so nothing keeps following", async () => {
    const k = start(["logs", "web", "-f"]);
    await until("the first line", () => k.out() === "console line 1\n");
    const upstream = last!;
    k.child.kill("SIGINT");
    await k.exited;
    await upstream.closed;
  });
});
