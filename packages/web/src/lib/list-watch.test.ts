import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { FakeApi, Widget, status } from "@kumo/client/testing/fake-api";
import { waitFor } from "@kumo/client/testing/wait";
import { runListWatch } from "./list-watch.js";
import type { ListState } from "./watch-reducer.js";

function widget(name: string): KObject {
  return { apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name }, spec: {} };
}

/** A fake API and a loop on it; the loop is stopped when the test ends, also when it fails. */
function setup(t: TestContext) {
  const api = new FakeApi();
  const client = new KumoClient({ server: "https://x", fetch: api.fetch });
  const seen = { state: undefined as ListState | undefined, errors: [] as (unknown | undefined)[] };
  const ac = new AbortController();
  t.after(() => ac.abort());
  const run = () =>
    runListWatch(
      client,
      Widget,
      { minBackoffMs: 5, maxBackoffMs: 20 },
      { state: (s) => (seen.state = s), error: (e) => seen.errors.push(e) },
      ac.signal,
    );
  const names = () => seen.state?.items.map((o) => o.metadata.name).join(",");
  return { api, seen, ac, run, names };
}

test("lists, then follows watch events", { timeout: 5000 }, async (t) => {
  const { api, ac, run, names } = setup(t);
  api.put(widget("a"));
  const running = run();
  await waitFor(() => api.openWatches === 1);
  assert.equal(names(), "a");
  api.put(widget("b"));
  api.remove("a");
  await waitFor(() => names() === "b");
  ac.abort();
  await running;
});

test("after 410 Gone it relists and shows what changed while the watch was gone", { timeout: 5000 }, async (t) => {
  const { api, seen, ac, run, names } = setup(t);
  api.put(widget("a"));
  api.put(widget("b"));
  const running = run();
  await waitFor(() => api.openWatches === 1);
  const lists = () => api.requests.filter((r) => r.method === "GET" && !r.url.searchParams.get("watch")).length;
  assert.equal(lists(), 1);
  // Simulate a compaction while disconnected: the resumed watch gets 410 and must relist.
  api.closeWatches();
  api.remove("a");
  api.put(widget("c"));
  api.compactedRv = api.rv;
  await waitFor(() => lists() === 2 && names() === "b,c");
  assert.equal(seen.state?.expired, false);
  assert.deepEqual(seen.errors, [], "410 is routine, not an error for the user");
  ac.abort();
  await running;
});

test("a server that answers 410 to every watch is retried with backoff, not in a tight loop", { timeout: 5000 }, async (t) => {
  const { api, ac, run } = setup(t);
  api.put(widget("a"));
  api.compactedRv = 1000; // every watch (from rv 1) is too old
  const running = run();
  await new Promise((r) => setTimeout(r, 150));
  const lists = api.requests.filter((r) => !r.url.searchParams.get("watch")).length;
  assert.ok(lists >= 2 && lists < 30, `relisted ${lists} times in 150 ms`);
  ac.abort();
  await running;
});

test("other errors reach the sink with the API's message and clear after recovery", { timeout: 5000 }, async (t) => {
  const { api, seen, ac, run, names } = setup(t);
  api.put(widget("a"));
  let fail = true;
  api.intercept = () => (fail ? status(403, "Forbidden", 'user "bob" cannot list resource "widgets"') : undefined);
  const running = run();
  await waitFor(() => seen.errors.length > 0);
  assert.match(String((seen.errors[0] as Error).message), /cannot list resource "widgets"/);
  fail = false;
  await waitFor(() => names() === "a" && seen.errors.at(-1) === undefined);
  ac.abort();
  await running;
});

test("a server that ends every watch at once is re-watched with backoff", { timeout: 5000 }, async (t) => {
  const { api, ac, run, names } = setup(t);
  api.put(widget("a"));
  api.intercept = (r) => (r.url.searchParams.get("watch") ? new Response("", { status: 200 }) : undefined);
  const running = run();
  await new Promise((r) => setTimeout(r, 150));
  const watches = api.requests.filter((r) => r.url.searchParams.get("watch")).length;
  assert.ok(watches >= 2 && watches < 30, `re-watched ${watches} times in 150 ms`);
  assert.equal(names(), "a", "the listed rows stay");
  ac.abort();
  await running;
});
