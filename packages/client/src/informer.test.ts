import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "@kumo/api";
import { KumoClient } from "./client.js";
import { Informer } from "./informer.js";
import { FakeApi, Widget, status } from "./testing/fake-api.js";
import { waitFor } from "./testing/wait.js";

function widget(name: string, color = "red"): KObject {
  return { apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name }, spec: { color } };
}

/** An informer on a fake API that records handler calls as strings. */
function setup() {
  const api = new FakeApi();
  const client = new KumoClient({ server: "https://x", fetch: api.fetch });
  const calls: string[] = [];
  const errors: unknown[] = [];
  const inf = new Informer(client, Widget, { minBackoffMs: 5, maxBackoffMs: 20, onError: (e) => errors.push(e) });
  inf.addHandler({
    add: (o) => calls.push(`add ${o.metadata.name}`),
    update: (old, cur) => calls.push(`update ${cur.metadata.name} ${old.metadata.resourceVersion}->${cur.metadata.resourceVersion}`),
    delete: (o) => calls.push(`delete ${o.metadata.name}`),
  });
  const ac = new AbortController();
  return { api, inf, calls, errors, ac };
}

test("lists, syncs, then follows watch events into the cache and the handlers", async () => {
  const { api, inf, calls, ac } = setup();
  api.put(widget("a"));
  api.put(widget("b"));
  const running = inf.run(ac.signal);
  assert.equal(await inf.waitForSync(), true);
  assert.equal(inf.hasSynced(), true);
  assert.deepEqual(calls.sort(), ["add a", "add b"]);
  await waitFor(() => api.openWatches === 1);
  const watchReq = api.requests.find((r) => r.url.searchParams.get("watch"));
  assert.equal(watchReq?.url.searchParams.get("resourceVersion"), "2", "watch starts at the list's resourceVersion");
  calls.length = 0;
  api.put(widget("a", "blue"));
  api.put(widget("c"));
  api.remove("b");
  await waitFor(() => calls.length === 3);
  assert.deepEqual(calls, ["update a 1->3", "add c", "delete b"]);
  assert.deepEqual(
    inf
      .list()
      .map((o) => o.metadata.name)
      .sort(),
    ["a", "c"],
  );
  assert.equal((inf.get("a")?.spec as { color: string }).color, "blue");
  assert.equal(inf.resourceVersion, "5");
  ac.abort();
  await running;
  assert.equal(api.openWatches, 0, "abort closes the watch");
});

test("410 relists and reports what changed while the watch was gone", async () => {
  const { api, inf, calls, ac } = setup();
  api.put(widget("a"));
  api.put(widget("b"));
  const running = inf.run(ac.signal);
  await inf.waitForSync();
  await waitFor(() => api.openWatches === 1);
  calls.length = 0;
  // Changes the informer never hears about, then the server says its version is gone.
  api.closeWatches();
  api.intercept = (r) => (r.url.searchParams.get("watch") ? status(410, "Expired", "too old resource version") : undefined);
  api.put(widget("a", "green"));
  api.remove("b");
  api.put(widget("d"));
  await waitFor(() => api.requests.filter((r) => !r.url.searchParams.get("watch")).length >= 2);
  api.intercept = undefined;
  await waitFor(() => calls.length === 3);
  assert.deepEqual(calls.sort(), ["add d", "delete b", "update a 1->3"]);
  assert.equal(inf.stats().lists, 2);
  ac.abort();
  await running;
});

test("a cleanly ended stream is resumed from the last resourceVersion, without a relist", async () => {
  const { api, inf, calls, ac } = setup();
  api.put(widget("a"));
  const running = inf.run(ac.signal);
  await inf.waitForSync();
  await waitFor(() => api.openWatches === 1);
  api.put(widget("a", "blue"));
  await waitFor(() => calls.length === 2);
  api.closeWatches();
  await waitFor(() => api.openWatches === 1);
  const watches = api.requests.filter((r) => r.url.searchParams.get("watch"));
  assert.equal(watches.at(-1)?.url.searchParams.get("resourceVersion"), "2");
  assert.equal(inf.stats().lists, 1);
  ac.abort();
  await running;
});

test("list failures are reported and retried with backoff until the server answers", async () => {
  const { api, inf, errors, ac } = setup();
  api.put(widget("a"));
  api.intercept = () => status(503, "ServiceUnavailable", "starting");
  const running = inf.run(ac.signal);
  await waitFor(() => errors.length >= 2);
  assert.equal(inf.hasSynced(), false);
  const gaveUp = new AbortController();
  const waiting = inf.waitForSync(gaveUp.signal);
  gaveUp.abort();
  assert.equal(await waiting, false, "a caller can stop waiting for a sync that is not coming");
  api.intercept = undefined;
  assert.equal(await inf.waitForSync(), true);
  ac.abort();
  await running;
});

test("resync re-delivers every cached object; late handlers get the cache as adds; throwing handlers do not stop it", async () => {
  const api = new FakeApi();
  const client = new KumoClient({ server: "https://x", fetch: api.fetch });
  const errors: unknown[] = [];
  const inf = new Informer(client, Widget, { resyncPeriodMs: 20, onError: (e) => errors.push(e) });
  api.put(widget("a"));
  const ac = new AbortController();
  const running = inf.run(ac.signal);
  await inf.waitForSync();
  inf.addHandler({
    update: () => {
      throw new Error("handler bug");
    },
  });
  const late: string[] = [];
  inf.addHandler({ add: (o) => late.push(`add ${o.metadata.name}`), update: (o, n) => late.push(o === n ? "resync" : "update") });
  assert.deepEqual(late, ["add a"]);
  await waitFor(() => late.filter((x) => x === "resync").length >= 2);
  assert.ok(errors.some((e) => (e as Error).message === "handler bug"));
  ac.abort();
  await running;
});
