/**
 * @kumo/client against a real in-process server, over the CLI's node:https transport and over the
 * server's in-process fetch (what controllers use): guaranteedUpdate under real contention, the
 * ownership conflict it must not retry, the informer following real watches, tables and history.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, HostKind, NamespaceKind, type KObject } from "@kumo/api";
import { Informer, KumoClient } from "@kumo/client";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { createNodeFetch } from "@kumo/runtime";

let srv: TestServer;
let client: KumoClient;

before(async () => {
  srv = await startTestServer();
  client = new KumoClient({ server: srv.url, token: srv.adminToken, fetch: createNodeFetch({ caPem: srv.caCert }) });
});

after(async () => {
  await srv.stop();
});

const host = (name: string, annotations: Record<string, string> = {}): KObject => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name, annotations },
});

test("two managers writing disjoint annotations through guaranteedUpdate, 16 in flight: nothing lost", async () => {
  await client.create(HostKind, host("busy"), { fieldManager: "setup" });
  const writes: Promise<unknown>[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  for (const manager of ["kumo-agent", "mgmt"]) {
    for (let i = 0; i < 100; i++) {
      writes.push(
        (async () => {
          while (inFlight >= 16) await new Promise((r) => setTimeout(r, 1));
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          try {
            await client.guaranteedUpdate(
              HostKind,
              undefined,
              "busy",
              (cur) => {
                cur.metadata.annotations = { ...cur.metadata.annotations, [`${manager}.kumo.dev/k${i}`]: String(i) };
                return cur;
              },
              { fieldManager: manager },
            );
          } finally {
            inFlight--;
          }
        })(),
      );
    }
  }
  await Promise.all(writes);
  const final = await client.get(HostKind, undefined, "busy");
  assert.equal(Object.keys(final.metadata.annotations ?? {}).length, 200);
  assert.ok(maxInFlight >= 8, `only ${maxInFlight} writes were in flight`);
});

test("guaranteedUpdate does not retry an ownership conflict; force takes the keys over", async () => {
  await client.create(HostKind, host("owned", { "network.kumo.dev/vtep-ip": "10.0.0.1" }), { fieldManager: "kumo-agent" });
  const dropAll = (cur: KObject) => ({ ...cur, metadata: { ...cur.metadata, annotations: { mine: "x" } } });
  const err = await client.guaranteedUpdate(HostKind, undefined, "owned", dropAll, { fieldManager: "mgmt" }).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError, String(err));
  assert.equal(err.code, 409);
  assert.match(err.message, /owned by "kumo-agent"/);
  const forced = await client.guaranteedUpdate(HostKind, undefined, "owned", dropAll, { fieldManager: "mgmt", force: true });
  assert.deepEqual(forced.metadata.annotations, { mine: "x" });
  const h = await client.history(HostKind, undefined, "owned");
  const last = h.items[h.items.length - 1];
  assert.deepEqual([last.manager, last.force], ["mgmt", true]);
  assert.ok(last.changes.some((c) => c.op === "remove" && c.path.includes("vtep-ip")));
});

test("an informer over the real watch sees adds, updates and deletes", async () => {
  const ac = new AbortController();
  const seen: string[] = [];
  const inf = new Informer(client, HostKind, { labelSelector: "informer-test=yes" });
  inf.addHandler({
    add: (o) => seen.push(`add ${o.metadata.name}`),
    update: (_o, n) => seen.push(`update ${n.metadata.name} ${n.metadata.labels?.step ?? ""}`),
    delete: (o) => seen.push(`delete ${o.metadata.name}`),
  });
  const running = inf.run(ac.signal);
  try {
    await client.create(HostKind, { ...host("i1"), metadata: { name: "i1", labels: { "informer-test": "yes" } } });
    assert.equal(await inf.waitForSync(), true);
    await client.create(HostKind, { ...host("i2"), metadata: { name: "i2", labels: { "informer-test": "yes" } } });
    await client.patch(HostKind, undefined, "i1", "merge", { metadata: { labels: { step: "two" } } }, { fieldManager: "t" });
    await client.delete(HostKind, undefined, "i2");
    const end = Date.now() + 5000;
    while (!seen.includes("delete i2") && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen, ["add i1", "add i2", "update i1 two", "delete i2"]);
    assert.deepEqual(
      inf.list().map((o) => o.metadata.name),
      ["i1"],
    );
  } finally {
    ac.abort();
    await running;
  }
});

test("the same client runs over the server's in-process fetch (controllers), and reads Tables", async () => {
  const inProc = new KumoClient({ server: "", fetch: srv.fetchAs({ name: "system:test", groups: ["kumo:admins"] }) });
  const list = await inProc.list(NamespaceKind);
  assert.ok(list.items.some((n) => n.metadata.name === "default"));
  const t = await client.table(HostKind, undefined, { name: "owned" });
  assert.equal(t.kind, "Table");
  assert.equal(t.columnDefinitions[0].name, "Name");
  assert.equal(t.rows[0].cells[0], "owned");
});
