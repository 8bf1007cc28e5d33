/** The API server over real HTTPS on memory://: CRUD, patches, ownership, finalizers, GC, namespaces, watch. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request as httpsRequest } from "node:https";
import { startTestServer, type TestServer } from "../testing.js";

const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
const host = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name, ...extra },
  spec: { capacity: { cpu: 1000, memoryMiB: 1024 } },
});

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s?.stop();
});

/** Polls `cond` until it holds (3 s at most). */
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Opens a watch stream and collects events until `stop()`. */
function openWatch(path: string) {
  const url = new URL(s.url);
  const events: { type: string; object: any }[] = [];
  let buf = "";
  const waiters: (() => void)[] = [];
  const req = httpsRequest(
    { host: url.hostname, port: url.port, path, headers: { authorization: `Bearer ${s.adminToken}` }, ca: s.caCert },
    (res) => {
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line.trim()) events.push(JSON.parse(line));
          waiters.splice(0).forEach((w) => w());
        }
      });
    },
  );
  req.on("error", () => undefined);
  req.end();
  return {
    events,
    async waitFor(n: number, ms = 3000) {
      const deadline = Date.now() + ms;
      while (events.length < n) {
        if (Date.now() > deadline)
          throw new Error(`expected ${n} watch events, got ${events.length}: ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return events;
    },
    stop: () => req.destroy(),
  };
}

describe("CRUD", () => {
  it("creates, gets, lists with selectors and pages, updates with resourceVersion, deletes", async () => {
    for (const n of ["c1", "c2", "c3"])
      assert.equal((await s.call("POST", HOSTS, { body: host(n, { labels: { zone: n === "c2" ? "b" : "a" } }) })).status, 201);
    const dup = await s.call("POST", HOSTS, { body: host("c1") });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.reason, "AlreadyExists");
    const got = await s.call("GET", `${HOSTS}/c1`);
    assert.equal(got.body.metadata.generation, 1);
    assert.match(got.body.metadata.uid, /^[0-9a-f-]{36}$/);
    const sel = await s.call("GET", `${HOSTS}?labelSelector=zone%3Da`);
    assert.deepEqual(
      sel.body.items.map((h: any) => h.metadata.name).filter((n: string) => n.startsWith("c")),
      ["c1", "c3"],
    );
    const page1 = await s.call("GET", `${HOSTS}?limit=2`);
    assert.equal(page1.body.items.length, 2);
    assert.ok(page1.body.metadata.continue);
    const page2 = await s.call("GET", `${HOSTS}?limit=2&continue=${encodeURIComponent(page1.body.metadata.continue)}`);
    const names = [...page1.body.items, ...page2.body.items].map((h: any) => h.metadata.name);
    assert.ok(["c1", "c2", "c3"].every((n) => names.includes(n)));
    assert.equal(new Set(names).size, names.length, "pages must not overlap");

    const cur = got.body;
    cur.spec.capacity.cpu = 2000;
    const put = await s.call("PUT", `${HOSTS}/c1`, { body: cur });
    assert.equal(put.status, 200);
    assert.equal(put.body.metadata.generation, 2);
    const stale = await s.call("PUT", `${HOSTS}/c1`, { body: cur });
    assert.equal(stale.status, 409);
    assert.match(stale.body.message, /has been modified/);
    const noRV = await s.call("PUT", `${HOSTS}/c1`, { body: { ...cur, metadata: { ...cur.metadata, resourceVersion: undefined } } });
    assert.equal(noRV.status, 409);
    assert.match(noRV.body.message, /resourceVersion must be specified/);

    assert.equal((await s.call("DELETE", `${HOSTS}/c1`)).status, 200);
    assert.equal((await s.call("GET", `${HOSTS}/c1`)).status, 404);
  });

  it("status subresource: main writes ignore status, /status writes only status; generation follows spec", async () => {
    await s.call("POST", HOSTS, { body: { ...host("st1"), status: { agentVersion: "ignored" } } });
    const created = (await s.call("GET", `${HOSTS}/st1`)).body;
    assert.equal(created.status, undefined);
    const st = await s.call("PATCH", `${HOSTS}/st1/status?fieldManager=agent`, {
      body: { status: { agentVersion: "1.0" }, spec: { unschedulable: true } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(st.status, 200);
    assert.equal(st.body.status.agentVersion, "1.0");
    assert.equal(st.body.spec.unschedulable, undefined, "spec is not writable through /status");
    assert.equal(st.body.metadata.generation, 1, "status writes do not bump generation");
  });
});

describe("patches and ownership", () => {
  it("merge patch and json patch (with test op) apply to the latest version", async () => {
    await s.call("POST", HOSTS, { body: host("p1") });
    const m = await s.call("PATCH", `${HOSTS}/p1?fieldManager=m1`, {
      body: { metadata: { labels: { a: "1" } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(m.body.metadata.labels.a, "1");
    const j = await s.call("PATCH", `${HOSTS}/p1?fieldManager=m1`, {
      body: [
        { op: "test", path: "/metadata/labels/a", value: "1" },
        { op: "replace", path: "/metadata/labels/a", value: "2" },
      ],
      contentType: "application/json-patch+json",
    });
    assert.equal(j.status, 200);
    assert.equal(j.body.metadata.labels.a, "2");
    const failed = await s.call("PATCH", `${HOSTS}/p1?fieldManager=m1`, {
      body: [{ op: "test", path: "/metadata/labels/a", value: "1" }],
      contentType: "application/json-patch+json",
    });
    assert.equal(failed.status, 422);
    const smp = await s.call("PATCH", `${HOSTS}/p1`, { body: {}, contentType: "application/strategic-merge-patch+json" });
    assert.equal(smp.status, 415);
  });

  it("refuses removal of another manager's annotations unless forced, and records who removed what", async () => {
    await s.call("POST", HOSTS, { body: host("own1") });
    await s.call("PATCH", `${HOSTS}/own1?fieldManager=kumo-agent`, {
      body: { metadata: { annotations: { "network.kumo.dev/vtep-ip": "10.0.0.1" } } },
      contentType: "application/merge-patch+json",
    });
    const cur = (await s.call("GET", `${HOSTS}/own1`)).body;
    cur.metadata.annotations = { desired: "yes" };
    const refused = await s.call("PUT", `${HOSTS}/own1?fieldManager=mgmt`, { body: cur });
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /kumo-agent/);
    assert.match(refused.body.message, /network\.kumo\.dev\/vtep-ip/);
    assert.equal(
      (await s.call("GET", `${HOSTS}/own1`)).body.metadata.annotations["network.kumo.dev/vtep-ip"],
      "10.0.0.1",
      "nothing was written",
    );
    const mergeRemove = await s.call("PATCH", `${HOSTS}/own1?fieldManager=mgmt`, {
      body: { metadata: { annotations: { "network.kumo.dev/vtep-ip": null } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(mergeRemove.status, 409, "merge patches follow the same rule");
    const forced = await s.call("PUT", `${HOSTS}/own1?fieldManager=mgmt&force=true`, { body: cur });
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.body.metadata.annotations, { desired: "yes" });
    const hist = (await s.call("GET", `${HOSTS}/own1/history`)).body.items;
    const last = hist[hist.length - 1];
    assert.equal(last.manager, "mgmt");
    assert.equal(last.user, "admin");
    assert.equal(last.force, true);
    assert.deepEqual(last.overridden, [{ manager: "kumo-agent", paths: ["metadata.annotations[network.kumo.dev/vtep-ip]"] }]);
    assert.ok(
      last.changes.some(
        (c: any) => c.op === "remove" && c.path === "metadata.annotations[network.kumo.dev/vtep-ip]" && c.previous === "10.0.0.1",
      ),
    );
    const events = (await s.call("GET", `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Down1`)).body.items;
    assert.ok(events.some((e: any) => e.reason === "FieldsOverridden" && e.type === "Warning" && /kumo-agent/.test(e.message)));
    const metrics = (await s.call("GET", "/metrics")).text;
    assert.match(metrics, /kumo_apiserver_conflicts_total\{manager="kumo-agent",resource="hosts",cause="ownership"\} [1-9]/);
  });

  it("server-side apply: creates, conflicts with another manager's value, forces, removes fields it stops applying", async () => {
    const apply = (body: unknown, q: string) =>
      s.call("PATCH", `${HOSTS}/ssa1?${q}`, { body, contentType: "application/apply-patch+yaml" });
    const cfg = {
      apiVersion: "infra.kumo.dev/v1",
      kind: "Host",
      metadata: { name: "ssa1", labels: { a: "1" } },
      spec: { capacity: { cpu: 100 } },
    };
    assert.equal((await apply(cfg, "fieldManager=alice")).status, 201);
    await s.call("PATCH", `${HOSTS}/ssa1?fieldManager=bob`, {
      body: { spec: { capacity: { cpu: 200 } } },
      contentType: "application/merge-patch+json",
    });
    const conflict = await apply(cfg, "fieldManager=alice");
    assert.equal(conflict.status, 409);
    assert.match(conflict.body.message, /Apply failed with 1 conflict: conflict with "bob": \.spec\.capacity\.cpu/);
    const forced = await apply(cfg, "fieldManager=alice&force=true");
    assert.equal(forced.body.spec.capacity.cpu, 100);
    const smaller = await apply({ ...cfg, metadata: { name: "ssa1" } }, "fieldManager=alice");
    assert.equal(smaller.body.metadata.labels, undefined, "label alice no longer applies is removed");
    assert.equal((await apply(cfg, "")).status, 400, "fieldManager is required");
  });
});

describe("finalizers, garbage collection and namespaces", () => {
  it("delete with a finalizer sets deletionTimestamp; removing the finalizer deletes", async () => {
    await s.call("POST", HOSTS, { body: host("fin1", { finalizers: ["example.com/hold"] }) });
    const del = await s.call("DELETE", `${HOSTS}/fin1`);
    assert.equal(del.status, 200);
    assert.ok(del.body.metadata.deletionTimestamp);
    assert.equal((await s.call("GET", `${HOSTS}/fin1`)).status, 200);
    const addFin = await s.call("PATCH", `${HOSTS}/fin1`, {
      body: { metadata: { finalizers: ["example.com/hold", "x.com/new"] } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(addFin.status, 403);
    await s.call("PATCH", `${HOSTS}/fin1`, { body: { metadata: { finalizers: [] } }, contentType: "application/merge-patch+json" });
    assert.equal((await s.call("GET", `${HOSTS}/fin1`)).status, 404);
  });

  it("deletes dependents through ownerReferences; Orphan keeps them", async () => {
    const owner = (await s.call("POST", HOSTS, { body: host("owner1") })).body;
    const ref = [{ apiVersion: "infra.kumo.dev/v1", kind: "Host", name: "owner1", uid: owner.metadata.uid }];
    await s.call("POST", "/api/v1/namespaces/default/secrets", {
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "dep1", ownerReferences: ref }, stringData: { a: "b" } },
    });
    assert.equal((await s.call("GET", "/api/v1/namespaces/default/secrets/dep1")).body.data.a, "Yg==");
    await s.call("DELETE", `${HOSTS}/owner1`);
    await waitUntil(async () => (await s.call("GET", "/api/v1/namespaces/default/secrets/dep1")).status === 404);

    const owner2 = (await s.call("POST", HOSTS, { body: host("owner2") })).body;
    await s.call("POST", "/api/v1/namespaces/default/secrets", {
      body: {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "dep2", ownerReferences: [{ ...ref[0], name: "owner2", uid: owner2.metadata.uid }] },
      },
    });
    await s.call("DELETE", `${HOSTS}/owner2`, { body: { propagationPolicy: "Orphan" } });
    await waitUntil(
      async () => (await s.call("GET", "/api/v1/namespaces/default/secrets/dep2")).body?.metadata?.ownerReferences === undefined,
    );
  });

  it("a deleted namespace is emptied then removed; system namespaces cannot be deleted", async () => {
    await s.call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "proj1" } } });
    await s.call("POST", "/api/v1/namespaces/proj1/secrets", { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s1" } } });
    await s.call("DELETE", "/api/v1/namespaces/proj1");
    await waitUntil(async () => (await s.call("GET", "/api/v1/namespaces/proj1")).status === 404);
    assert.equal((await s.call("GET", "/api/v1/namespaces/proj1/secrets/s1")).status, 404);
    assert.equal(
      (await s.call("POST", "/api/v1/namespaces/proj1/secrets", { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "s2" } } }))
        .status,
      404,
    );
    assert.equal((await s.call("DELETE", "/api/v1/namespaces/default")).status, 403);
  });
});

describe("watch", () => {
  it("RV=0 starts with the current state, then streams changes; selectors turn transitions into ADDED/DELETED", async () => {
    await s.call("POST", HOSTS, { body: host("w1", { labels: { watch: "yes" } }) });
    const w = openWatch(`${HOSTS}?watch=1&labelSelector=watch%3Dyes`);
    try {
      await w.waitFor(1);
      assert.equal(w.events[0].type, "ADDED");
      await s.call("PATCH", `${HOSTS}/w1`, { body: { spec: { unschedulable: true } }, contentType: "application/merge-patch+json" });
      await w.waitFor(2);
      assert.equal(w.events[1].type, "MODIFIED");
      await s.call("PATCH", `${HOSTS}/w1`, {
        body: { metadata: { labels: { watch: "no" } } },
        contentType: "application/merge-patch+json",
      });
      await w.waitFor(3);
      assert.equal(w.events[2].type, "DELETED", "leaving the selector is a DELETED event");
    } finally {
      w.stop();
    }
  });

  it("resumes from a resourceVersion and answers 410 Expired for compacted ones", async () => {
    const created = (await s.call("POST", HOSTS, { body: host("w2") })).body;
    await s.call("PATCH", `${HOSTS}/w2`, { body: { spec: { unschedulable: true } }, contentType: "application/merge-patch+json" });
    const w = openWatch(`${HOSTS}?watch=1&resourceVersion=${created.metadata.resourceVersion}&fieldSelector=metadata.name%3Dw2`);
    try {
      await w.waitFor(1);
      assert.equal(w.events[0].type, "MODIFIED");
      assert.equal(w.events[0].object.spec.unschedulable, true);
    } finally {
      w.stop();
    }
    const rev = await s.deps.store.backend.currentRevision();
    await s.deps.store.backend.compact(rev);
    s.deps.cache.compacted(rev);
    const old = openWatch(`${HOSTS}?watch=1&resourceVersion=${created.metadata.resourceVersion}`);
    try {
      await old.waitFor(1);
      assert.equal(old.events[0].type, "ERROR");
      assert.equal(old.events[0].object.code, 410);
      assert.equal(old.events[0].object.reason, "Expired");
    } finally {
      old.stop();
    }
  });

  it("watchers of one collection get the same bytes; one that hangs up is unsubscribed", async () => {
    const before = s.deps.cache.snapshot().watchers;
    const created = (await s.call("POST", HOSTS, { body: host("w3") })).body;
    const path = `${HOSTS}?watch=1&resourceVersion=${created.metadata.resourceVersion}`;
    const [a, b] = [openWatch(path), openWatch(path)];
    try {
      await until(() => s.deps.cache.snapshot().watchers === before + 2);
      await s.call("PATCH", `${HOSTS}/w3`, { body: { spec: { unschedulable: true } }, contentType: "application/merge-patch+json" });
      const [ea, eb] = [await a.waitFor(1), await b.waitFor(1)];
      assert.deepEqual(ea, eb);
      assert.equal(ea[0].object.spec.unschedulable, true);
    } finally {
      a.stop();
    }
    await until(() => s.deps.cache.snapshot().watchers === before + 1);
    b.stop();
    await until(() => s.deps.cache.snapshot().watchers === before);
  });

  it("serves Tables with resourceVersion and row metadata to kubectl", async () => {
    const table = await s.call("GET", HOSTS, { headers: { accept: "application/json;as=Table;v=v1;g=meta.k8s.io,application/json" } });
    assert.equal(table.body.kind, "Table");
    assert.deepEqual(table.body.columnDefinitions.map((c: any) => c.name).slice(0, 2), ["Name", "Status"]);
    assert.ok(table.body.metadata.resourceVersion);
    assert.equal(table.body.rows[0].object.kind, "PartialObjectMetadata");
  });
});

describe("discovery and OpenAPI", () => {
  it("serves what kubectl needs", async () => {
    const v = await s.call("GET", "/version", { token: null });
    assert.equal(v.body.minor, "32");
    const apis = await s.call("GET", "/apis");
    assert.ok(apis.body.groups.some((g: any) => g.name === "infra.kumo.dev"));
    const rl = await s.call("GET", "/apis/infra.kumo.dev/v1");
    const hosts = rl.body.resources.find((r: any) => r.name === "hosts");
    assert.deepEqual(hosts.shortNames, ["hst"]);
    const idx = await s.call("GET", "/openapi/v3");
    const url = idx.body.paths["apis/infra.kumo.dev/v1"].serverRelativeURL;
    const doc = await s.call("GET", url);
    const patch = doc.body.paths["/apis/infra.kumo.dev/v1/hosts/{name}"].patch;
    assert.ok(patch.parameters.some((p: any) => p.name === "fieldValidation"));
    assert.deepEqual(Object.keys(patch.requestBody.content).sort(), [
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
    ]);
    assert.equal((await s.call("GET", "/apis", { token: null })).status, 401);
  });
});

async function waitUntil(pred: () => Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}
