import { test } from "node:test";
import assert from "node:assert/strict";
import type { KObject } from "@kumo/api";
import { Informer, KumoClient } from "@kumo/client";
import { FakeApi, Widget } from "@kumo/client/testing/fake-api";
import { Controller } from "./controller.js";
import { informerSource } from "./sources.js";

const quiet = { info() {}, warn() {}, error() {} };
const widget = (name: string): KObject => ({ apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name }, spec: {} });

test("informerSource with delayMs: a burst of watch events costs one reconcile that sees all of them", async () => {
  const api = new FakeApi();
  const inf = new Informer(new KumoClient({ server: "https://x", fetch: api.fetch }), Widget);
  const seen: number[] = [];
  const c = new Controller({
    name: "burst",
    log: quiet,
    sources: [informerSource("widgets", inf, () => "all", { run: true, delayMs: 30 })],
    reconciler: async () => void seen.push(inf.list().length),
  });
  const ac = new AbortController();
  try {
    await c.start(ac.signal);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, [], "an empty list queues nothing");
    for (let i = 0; i < 20; i++) api.put(widget(`w${i}`));
    const end = Date.now() + 2000;
    while (seen.at(-1) !== 20 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.ok(seen.length <= 2, `${seen.length} reconciles for a burst of 20`);
    assert.equal(seen.at(-1), 20);
  } finally {
    ac.abort();
    await c.stop();
  }
});
