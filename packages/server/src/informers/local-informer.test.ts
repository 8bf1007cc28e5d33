/** The server informer: list + follow, relist on a too-old revision and on a closed subscription, retried, never unhandled. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { HostKind } from "@kumo/api";
import type { ObjectStore } from "../registry/store.js";
import { type CachedEvent, type Subscriber, TooOldError, type WatchCache } from "../registry/watch-cache.js";
import { startTestServer } from "../testing.js";
import { type Change, LocalInformer } from "./local-informer.js";

const CTX = { user: "test", manager: "test" };
const host = (name: string) => ({ apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name } });

/** A WatchCache stand-in: refuses the first `tooOld` subscriptions as too old, and lets the test close or feed the live one. */
function fakeCache(tooOld: number) {
  const subs: Subscriber[] = [];
  let refused = 0;
  const cache = {
    subscribe(s: Subscriber): CachedEvent[] {
      if (refused < tooOld) {
        refused++;
        throw new TooOldError(s.afterRevision, s.afterRevision + 1);
      }
      subs.push(s);
      return [];
    },
    unsubscribe(s: Subscriber) {
      const i = subs.indexOf(s);
      if (i >= 0) subs.splice(i, 1);
    },
  };
  return { cache: cache as unknown as WatchCache, subs, refused: () => refused };
}

const until = async (cond: () => boolean, ms = 5000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

it("lists again when its list is older than the cache, and again (diffing) when the cache drops it", async () => {
  const s = await startTestServer();
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  const ac = new AbortController();
  try {
    const { store } = s.deps;
    for (const n of ["a", "b"]) await store.create(HostKind, undefined, host(n), CTX);
    const fake = fakeCache(2);
    let failLists = 0;
    const flaky = {
      list: async (...args: Parameters<ObjectStore["list"]>) => {
        if (failLists > 0) {
          failLists--;
          throw new Error("store unavailable");
        }
        return store.list(...args);
      },
    } as unknown as ObjectStore;
    const changes: string[] = [];
    const keys: string[] = [];
    const inf = new LocalInformer("hosts", flaky, fake.cache, [HostKind], (c: Change, enqueue) => {
      changes.push(`${c.type} ${c.obj.metadata.name}`);
      enqueue(c.obj.metadata.name!);
    });
    const enqueue = Object.assign((k: string) => void keys.push(k), { after: () => undefined });
    await inf.start(ac.signal, enqueue);
    assert.equal(fake.refused(), 2, "two too-old subscriptions, each followed by a new list");
    assert.equal(fake.subs.length, 1);
    assert.deepEqual(changes, ["ADDED a", "ADDED b"], "a relist of unchanged objects reports nothing");
    assert.deepEqual(keys, ["a", "b"]);
    assert.equal(fake.subs[0].prefix, "/registry/infra.kumo.dev/hosts/");

    // Meanwhile (events the informer will never see): b goes, c comes, a changes.
    await store.delete(HostKind, undefined, "b", CTX);
    await store.create(HostKind, undefined, host("c"), CTX);
    await store.guaranteedUpdate(HostKind, undefined, "a", CTX, (cur) => ({ ...cur, spec: { unschedulable: true } }));
    failLists = 2; // the first relists fail: retried with backoff, not left as a rejection
    fake.subs[0].close("compacted");
    assert.equal(fake.subs.length, 0, "the dropped subscription is removed from the cache");
    await until(() => fake.subs.length === 1);
    assert.deepEqual(changes.slice(2).sort(), ["ADDED c", "DELETED b", "MODIFIED a"]);
    assert.deepEqual([...inf.list(HostKind)].map((h) => h.metadata.name).sort(), ["a", "c"]);
    const snap = inf.snapshot();
    assert.equal(snap.relists, 1);
    assert.match(snap.lastError ?? "", /relist of hosts: store unavailable/);
    assert.deepEqual(snap.objects, { Host: 2 });

    // A shutdown close, or a stopped informer, does not list again.
    ac.abort();
    assert.equal(fake.subs.length, 0, "abort unsubscribes");
    await inf.stop();
    assert.deepEqual(unhandled, []);
  } finally {
    ac.abort();
    process.off("unhandledRejection", onUnhandled);
    await s.stop();
  }
});

it("a throwing handler is counted and does not stop the informer", async () => {
  const s = await startTestServer();
  const ac = new AbortController();
  try {
    const inf = new LocalInformer("hosts", s.deps.store, s.deps.cache, [HostKind], () => {
      throw new Error("handler bug");
    });
    await s.deps.store.create(HostKind, undefined, host("x"), CTX);
    await inf.start(ac.signal);
    await s.deps.store.create(HostKind, undefined, host("y"), CTX);
    await until(() => inf.count(HostKind) === 2);
    assert.equal(inf.snapshot().handlerErrors, 2);
    assert.match(inf.snapshot().lastError ?? "", /handler bug/);
  } finally {
    ac.abort();
    await s.stop();
  }
});
