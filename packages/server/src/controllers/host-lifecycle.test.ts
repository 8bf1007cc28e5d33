/** Host readiness follows heartbeats: NotReady with a Warning event after the grace period, Ready again when beats return. */
import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../testing.js";

let s: TestServer;
before(async () => {
  s = await startTestServer({ heartbeatGraceMs: 1500 });
});
after(async () => {
  await s?.stop();
});

const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
const beat = () =>
  s.call("PATCH", `${HOSTS}/hb1/status?fieldManager=kumo-agent`, {
    body: { status: { lastHeartbeatTime: new Date().toISOString() } },
    contentType: "application/merge-patch+json",
  });
const ready = async () => (await s.call("GET", `${HOSTS}/hb1`)).body.status?.conditions?.find((c: any) => c.type === "Ready")?.status;

async function until(pred: () => Promise<boolean>, ms: number) {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 100));
  }
}

it("marks a silent host NotReady within the grace period and Ready when beats return", async () => {
  await s.call("POST", HOSTS, { body: { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "hb1" } } });
  const stoppedAt = Date.now();
  await beat();
  await until(async () => (await ready()) === "True", 3000);
  await until(async () => (await ready()) === "False", 5000);
  const took = Date.now() - stoppedAt;
  assert.ok(took >= 1400 && took < 4000, `NotReady after ${took} ms (grace 1500 ms)`);
  const evs = (await s.call("GET", "/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dhb1")).body.items;
  assert.ok(evs.some((e: any) => e.reason === "HostNotReady" && e.type === "Warning"));
  await beat();
  await until(async () => (await ready()) === "True", 3000);
  const metrics = (await s.call("GET", "/metrics")).text;
  assert.match(metrics, /kumo_host_heartbeat_age_seconds\{host="hb1"\}/);
});
