/**
 * `instances/NAME/log` over real HTTPS: RBAC on "instances/log", the proxy token shown to the agent,
 * and clear Statuses when the instance has no host or its agent does not answer. The agent here is a
 * test double on 127.0.0.2 (loopback): the real agent's side is covered by the compute e2e test.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { AGENT_PORT, AGENT_PROXY_TOKEN_FILE } from "@kumo/api";
import { startTestServer, type TestServer } from "../testing.js";

const NS = "default";
const INSTANCES = `/apis/compute.kumo.dev/v1/namespaces/${NS}/instances`;
const FAKE_AGENT_IP = "127.0.0.2";

let s: TestServer;
let agent: Server | undefined;
const seen: { url: string; authorization?: string }[] = [];

async function placedInstance(name: string, hostName: string): Promise<void> {
  const created = await s.call("POST", INSTANCES, {
    body: { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name }, spec: { kind: "container", image: "busybox" } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const placed = await s.call("PATCH", `${INSTANCES}/${name}/status`, {
    body: { status: { host: hostName, phase: "Running" } },
    contentType: "application/merge-patch+json",
  });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
}

before(async () => {
  s = await startTestServer({ scheduler: false });
  agent = createServer((req, res) => {
    seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
    if (req.url?.includes("/missing/")) return void res.writeHead(404).end("no instance default/missing on host h-up\n");
    res.writeHead(200, { "content-type": "text/plain" }).end("hello from the console\n");
  });
  await new Promise<void>((res, rej) => agent!.once("error", rej).listen(AGENT_PORT, FAKE_AGENT_IP, () => res()));
  for (const [name, ip] of [
    ["h-up", FAKE_AGENT_IP],
    ["h-down", "127.0.0.3"],
  ] as const) {
    const r = await s.call("POST", "/apis/infra.kumo.dev/v1/hosts", {
      body: { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name }, spec: { underlayIP: ip, unschedulable: true } },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
});
after(async () => {
  await new Promise((r) => (agent ? agent.close(r) : r(undefined)));
  await s?.stop();
});

describe("instances/NAME/log", () => {
  it("is read from the host's agent with the server's proxy token", async () => {
    await placedInstance("web", "h-up");
    const r = await s.call("GET", `${INSTANCES}/web/log?tailBytes=4096`);
    assert.equal(r.status, 200);
    assert.equal(r.text, "hello from the console\n");
    const token = (await readFile(join(s.dataDir, AGENT_PROXY_TOKEN_FILE), "utf8")).trim();
    assert.deepEqual(seen.at(-1), { url: "/debug/instances/default/web/logs?tailBytes=4096", authorization: `Bearer ${token}` });
    assert.ok(!seen.some((x) => x.authorization === `Bearer ${s.adminToken}`), "the caller's token never reaches the agent");
  });

  it("answers clear Statuses: no host yet, agent down, agent without the log, bad tailBytes, wrong verb", async () => {
    await s.call("POST", INSTANCES, {
      body: {
        apiVersion: "compute.kumo.dev/v1",
        kind: "Instance",
        metadata: { name: "pending" },
        spec: { kind: "container", image: "busybox" },
      },
    });
    const pending = await s.call("GET", `${INSTANCES}/pending/log`);
    assert.deepEqual([pending.status, pending.body.reason], [400, "BadRequest"]);
    assert.match(pending.body.message, /instance "pending" in project "default" is not on a host yet/);

    await placedInstance("orphan", "h-down");
    const down = await s.call("GET", `${INSTANCES}/orphan/log`);
    assert.deepEqual([down.status, down.body.reason], [503, "ServiceUnavailable"]);
    assert.match(down.body.message, /the agent of host "h-down" \(127\.0\.0\.3:9470\) did not answer/);

    await placedInstance("missing", "h-up");
    const missing = await s.call("GET", `${INSTANCES}/missing/log`);
    assert.deepEqual([missing.status, missing.body.reason], [404, "NotFound"]);

    const bad = await s.call("GET", `${INSTANCES}/web/log?tailBytes=lots`);
    assert.deepEqual([bad.status, bad.body.details?.causes?.[0]?.field], [400, "tailBytes"]);
    const post = await s.call("POST", `${INSTANCES}/web/log`, { body: {} });
    assert.equal(post.status, 405);
    const hostLog = await s.call("GET", "/apis/infra.kumo.dev/v1/hosts/h-up/log");
    assert.equal(hostLog.status, 404, "only kinds with a log subresource serve one");

    const metrics = (await s.call("GET", "/metrics")).text ?? "";
    for (const outcome of ["ok", "unreachable", "not_found"])
      assert.match(metrics, new RegExp(`kumo_apiserver_agent_proxy_requests_total\\{outcome="${outcome}"\\} [1-9]`));
  });

  it("is authorized as instances/log in the instance's project", async () => {
    await s.call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } } });
    await s.call("POST", "/apis/iam.kumo.dev/v1/users", {
      body: { apiVersion: "iam.kumo.dev/v1", kind: "User", metadata: { name: "eve" }, spec: {} },
    });
    await s.call("POST", "/apis/iam.kumo.dev/v1/namespaces/other/rolebindings", {
      body: {
        apiVersion: "iam.kumo.dev/v1",
        kind: "RoleBinding",
        metadata: { name: "eve-admin" },
        roleRef: { name: "admin" },
        subjects: [{ kind: "User", name: "eve" }],
      },
    });
    const tok = await s.call("POST", "/apis/iam.kumo.dev/v1/tokens", {
      body: { apiVersion: "iam.kumo.dev/v1", kind: "Token", metadata: { name: "eve-1" }, spec: { user: "eve" } },
    });
    const eve = tok.body.status.bearerToken as string;
    const before = seen.length;
    let r = await s.call("GET", `${INSTANCES}/web/log`, { token: eve });
    for (let i = 0; i < 50 && r.status === 401; i++)
      r = await new Promise((res) => setTimeout(res, 20)).then(() => s.call("GET", `${INSTANCES}/web/log`, { token: eve }));
    assert.equal(r.status, 403);
    assert.match(
      r.body.message,
      /User "eve" cannot get resource "instances\/log" in API group "compute\.kumo\.dev" in the namespace "default"/,
    );
    assert.equal(seen.length, before, "a refused read never reaches the agent");
    // Following is the same read: another project's admin cannot open a stream of this project's console.
    const follow = await s.call("GET", `${INSTANCES}/web/log?follow=true`, { token: eve });
    assert.equal(follow.status, 403);
    assert.equal(seen.length, before, "a refused follow never reaches the agent");
  });
});
