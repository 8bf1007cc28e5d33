/** The garbage collector follows deletions on its own: any delete path, an Orphan request kept on the owner, a restart. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostKind, ORPHAN_FINALIZER, defaultRegistry } from "@kumo/api";
import { objectKey } from "../registry/codec.js";
import { openBackend } from "../storage/registry.js";
import { startTestServer, type TestServer } from "../testing.js";
import { until } from "./compute/test-support.js";

const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
const SECRETS = "/api/v1/namespaces/default/secrets";
const host = (name: string) => ({ apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name } });
const ref = (owner: { metadata: { name: string; uid: string } }) => [
  { apiVersion: "infra.kumo.dev/v1", kind: "Host", name: owner.metadata.name, uid: owner.metadata.uid },
];
const secret = (name: string, ownerReferences: unknown) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, ownerReferences } });

/** Runs `fn` against a fresh server that is stopped afterwards, also on failure. */
async function withServer(fn: (s: TestServer) => Promise<void>, opts: Parameters<typeof startTestServer>[0] = {}): Promise<void> {
  const s = await startTestServer(opts);
  try {
    await fn(s);
  } finally {
    await s.stop();
  }
}

it("deletes dependents of an owner deleted by any path (a store call here, not the HTTP handler)", () =>
  withServer(async (s) => {
    const owner = (await s.call("POST", HOSTS, { body: host("store-owner") })).body;
    assert.equal((await s.call("POST", SECRETS, { body: secret("store-dep", ref(owner)) })).status, 201);
    await s.deps.store.delete(HostKind, undefined, "store-owner", { user: "test", manager: "test" });
    await until("dependent collected", async () => (await s.call("GET", `${SECRETS}/store-dep`)).status === 404);
  }));

it("keeps an Orphan request on the owner as the orphan finalizer until the dependents are detached", () =>
  withServer(async (s) => {
    const owner = (await s.call("POST", HOSTS, { body: host("orphan-owner") })).body;
    const other = (await s.call("POST", HOSTS, { body: host("other-owner") })).body;
    await s.call("POST", SECRETS, { body: secret("kept-1", ref(owner)) });
    await s.call("POST", SECRETS, { body: secret("kept-2", [...ref(owner), ...ref(other)]) });
    const del = await s.call("DELETE", `${HOSTS}/orphan-owner`, { body: { propagationPolicy: "Orphan" } });
    assert.equal(del.status, 200, del.text);
    assert.ok(del.body.metadata.deletionTimestamp);
    assert.deepEqual(del.body.metadata.finalizers, [ORPHAN_FINALIZER]);
    await until("owner gone", async () => (await s.call("GET", `${HOSTS}/orphan-owner`)).status === 404);
    assert.equal((await s.call("GET", `${SECRETS}/kept-1`)).body.metadata.ownerReferences, undefined);
    const kept2 = (await s.call("GET", `${SECRETS}/kept-2`)).body;
    assert.deepEqual(kept2.metadata.ownerReferences, ref(other), "only the orphaning owner is detached");
    assert.match((await s.call("GET", "/metrics")).text, /kumo_gc_orphaned_total 2/);
    await s.call("POST", HOSTS, { body: host("guarded") });
    const stale = await s.call("DELETE", `${HOSTS}/guarded?propagationPolicy=Orphan`, {
      body: { preconditions: { resourceVersion: "1" } },
    });
    assert.equal(stale.status, 409, stale.text);
    assert.match(stale.body.message, /Precondition failed: ResourceVersion in precondition: 1/);
    assert.equal((await s.call("GET", `${HOSTS}/guarded`)).body.metadata.finalizers, undefined, "a failed precondition records nothing");
  }));

it("collects dependents of an owner deleted while the server was down, when it starts", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kumo-gc-"));
  const datastore = `sqlite://${join(dir, "kumo.db")}`;
  try {
    await withServer(
      async (s) => {
        const owner = (await s.call("POST", HOSTS, { body: host("down-owner") })).body;
        assert.equal((await s.call("POST", SECRETS, { body: secret("down-dep", ref(owner)) })).status, 201);
      },
      { dataDir: dir, datastore },
    );
    const backend = await openBackend(datastore);
    const key = objectKey(defaultRegistry().byKind("infra.kumo.dev", "Host")!, undefined, "down-owner");
    assert.equal((await backend.delete(key)).ok, true);
    await backend.close();
    await withServer(
      async (s) => {
        await until("dependent collected by the start sweep", async () => (await s.call("GET", `${SECRETS}/down-dep`)).status === 404);
      },
      { dataDir: dir, datastore },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
