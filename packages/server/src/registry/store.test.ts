/** The object store on memory://: write records, typed conflict causes, status rules, generation and finalizers. */
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { type KObject, ApiError, HostKind, conflictCause, defaultRegistry } from "@kumo/api";
import { openBackend } from "../storage/registry.js";
import { formatPath } from "./field-paths.js";
import { HistoryRecorder } from "./history.js";
import { ObjectStore } from "./store.js";
import type { WriteRecord, WriteRecorder } from "./write-record.js";

const host = (name: string, metadata: Record<string, unknown> = {}): KObject => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name, ...metadata },
  spec: { capacity: { cpu: 1000 } },
});
const as = (manager: string, more: { force?: boolean; subresource?: "status" } = {}) => ({ user: "admin", manager, ...more });

async function open(t: TestContext, recorder?: WriteRecorder) {
  const backend = await openBackend("memory://");
  t.after(() => backend.close());
  const written: WriteRecord[] = [];
  const conflicts: string[] = [];
  const rec: WriteRecorder = recorder ?? {
    attachment: (w) => (rev) => ({ key: `/rec/${w.obj.metadata.name}/${rev}`, value: w.operation }),
    written: (w) => written.push(w),
  };
  const store = new ObjectStore(backend, defaultRegistry(), rec);
  store.onConflict = (kind, manager, reason) => conflicts.push(`${kind.plural} ${manager} ${reason}`);
  return { backend, store, written, conflicts };
}

type Ctx = ReturnType<typeof as>;
type Mutate = (cur: KObject) => KObject;
/** guaranteedUpdate of Host "h1". */
const update = (store: ObjectStore, ctx: Ctx, mutate: Mutate, opts?: Parameters<ObjectStore["guaranteedUpdate"]>[5]) =>
  store.guaranteedUpdate(HostKind, undefined, "h1", ctx, mutate, opts);
/** A mutation of metadata only. */
const meta =
  (m: KObject["metadata"]): Mutate =>
  (cur) => ({ ...cur, metadata: { ...cur.metadata, ...m } });

/** The rejection of `p`, which must be an ApiError. */
async function refusal(p: Promise<unknown>): Promise<ApiError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
  return e;
}

test("each write hands its record to the recorder: an attachment in the same commit, then the stored object", async (t) => {
  const { backend, store, written } = await open(t);
  const created = await store.create(HostKind, undefined, host("h1"), as("admin"));
  const labelled = await update(store, as("ops"), meta({ labels: { rack: "r1" } }));
  const unchanged = await update(store, as("ops"), (cur) => cur);
  assert.equal(unchanged.metadata.resourceVersion, labelled.metadata.resourceVersion, "a no-op stores nothing");
  const seen = written.map((w) => [w.operation, w.ctx.manager, w.obj.metadata.resourceVersion, w.changes.map((c) => formatPath(c.path))]);
  assert.deepEqual(seen, [
    ["Create", "admin", created.metadata.resourceVersion, ["spec.capacity.cpu"]],
    ["Update", "ops", labelled.metadata.resourceVersion, ["metadata.labels.rack"]],
  ]);
  for (const o of [created, labelled]) {
    assert.ok(await backend.get(`/rec/h1/${o.metadata.resourceVersion}`), "attachment keyed by the write's revision");
  }
});

test("the history recorder is fed from write records and survives the delete", async (t) => {
  const backend = await openBackend("memory://");
  t.after(() => backend.close());
  const history = new HistoryRecorder(backend);
  const store = new ObjectStore(backend, defaultRegistry(), history);
  await store.create(HostKind, undefined, host("h1", { annotations: { a: "1" } }), as("agent"));
  await update(store, as("mgmt", { force: true }), meta({ annotations: {} }));
  await store.delete(HostKind, undefined, "h1", as("admin"));
  const entries = await history.read(HostKind, undefined, "h1");
  const seen = entries.map((e) => [e.operation, e.manager, e.force]);
  assert.deepEqual(seen, [
    ["Create", "agent", false],
    ["Update", "mgmt", true],
    ["Delete", "admin", false],
  ]);
  assert.deepEqual(entries[1].overridden, [{ manager: "agent", paths: ["metadata.annotations.a"] }]);
});

test("conflicts carry a typed cause: stale resourceVersion, uid precondition, field ownership", async (t) => {
  const { store, conflicts, written } = await open(t);
  const first = await store.create(HostKind, undefined, host("h1", { annotations: { "agent/ip": "10.0.0.1" } }), as("agent"));
  await update(store, as("ops"), meta({ labels: { a: "b" } }));

  const stale = await refusal(update(store, as("ops"), (cur) => cur, { expectRV: first.metadata.resourceVersion }));
  assert.deepEqual([stale.code, stale.reason, conflictCause(stale)], [409, "Conflict", "StaleResourceVersion"]);
  assert.match(stale.message, /^Operation cannot be fulfilled on hosts\.infra\.kumo\.dev "h1": the object has been modified/);

  const other = await refusal(update(store, as("ops"), meta({ uid: "other" })));
  assert.equal(conflictCause(other), "UIDPrecondition");
  assert.match(other.message, /Precondition failed: UID in precondition: other, UID in object meta: /);

  const dropAll = meta({ annotations: { mine: "x" } });
  const owned = await refusal(update(store, as("mgmt"), dropAll));
  assert.equal(conflictCause(owned), "FieldManagerConflict");
  assert.deepEqual(
    owned.details?.causes?.map((c) => c.field),
    ["metadata.annotations[agent/ip]"],
  );
  assert.deepEqual(conflicts, ["hosts ops stale", "hosts agent ownership"]);

  const forced = await update(store, as("mgmt", { force: true }), dropAll);
  assert.deepEqual(forced.metadata.annotations, { mine: "x" });
  assert.deepEqual(
    written.at(-1)?.overridden.map((o) => o.manager),
    ["agent"],
  );
});

test("delete preconditions: one check, Kubernetes' precondition wording, typed causes", async (t) => {
  const { store } = await open(t);
  const h = await store.create(HostKind, undefined, host("h1"), as("admin"));
  const rv = await refusal(store.delete(HostKind, undefined, "h1", as("admin"), { resourceVersion: "999" }));
  assert.equal(conflictCause(rv), "StaleResourceVersion");
  assert.match(rv.message, /Precondition failed: ResourceVersion in precondition: 999, ResourceVersion in object meta: \d+$/);
  const other = await refusal(store.delete(HostKind, undefined, "h1", as("admin"), { uid: "nope" }));
  assert.equal(conflictCause(other), "UIDPrecondition");
  const dryRun = { ...as("admin"), dryRun: true };
  assert.equal((await store.delete(HostKind, undefined, "h1", dryRun, { uid: "", resourceVersion: "" })).gone, true, "empty = not stated");
  const { uid, resourceVersion } = h.metadata;
  assert.equal((await store.delete(HostKind, undefined, "h1", as("admin"), { uid, resourceVersion })).gone, true);
});

test("status rules and generation: a main write keeps status, /status keeps the rest, spec changes count", async (t) => {
  const { store } = await open(t);
  const withStatus = { ...host("h1"), status: { agentVersion: "dropped" } };
  const created = await store.create(HostKind, undefined, withStatus, as("admin"));
  assert.deepEqual([created.status, created.metadata.generation], [undefined, 1]);
  const st = await update(store, as("agent", { subresource: "status" }), (cur) => ({
    ...cur,
    spec: { capacity: { cpu: 1 } },
    metadata: { ...cur.metadata, labels: { x: "y" } },
    status: { agentVersion: "v1" },
  }));
  const stSeen = [st.spec, st.metadata.labels, st.status, st.metadata.generation];
  assert.deepEqual(stSeen, [created.spec, undefined, { agentVersion: "v1" }, 1]);
  const labelled = await update(store, as("ops"), (cur) => ({
    ...cur,
    metadata: { ...cur.metadata, labels: { x: "y" } },
    status: { agentVersion: "overwritten?" },
  }));
  assert.deepEqual([labelled.status, labelled.metadata.generation], [{ agentVersion: "v1" }, 1]);
  const respec = await update(store, as("ops"), (cur) => ({ ...cur, spec: { capacity: { cpu: 2000 } } }));
  assert.equal(respec.metadata.generation, 2);
});

test("finalizers: delete marks, nobody adds one while deleting (update or apply), the last removal deletes", async (t) => {
  const { store, written } = await open(t);
  await store.create(HostKind, undefined, host("h1", { finalizers: ["kumo.dev/a"] }), as("admin"));
  const marked = await store.delete(HostKind, undefined, "h1", as("admin"));
  assert.equal(marked.gone, false);
  assert.ok(marked.obj.metadata.deletionTimestamp);
  const finalizers = ["kumo.dev/a", "kumo.dev/b"];
  assert.equal((await refusal(update(store, as("ops"), meta({ finalizers })))).code, 403);
  // Forced, so the apply gets past the ownership check of the list "admin" wrote: the finalizer rule still holds.
  const applyConfig = { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "h1", finalizers } };
  const applied = update(store, as("ops", { force: true }), (cur) => cur, { operation: "Apply", applyConfig });
  assert.equal((await refusal(applied)).code, 403);
  const gone = await update(store, as("ops"), meta({ finalizers: [] }));
  assert.equal((await refusal(store.get(HostKind, undefined, "h1"))).code, 404);
  const last = written.at(-1);
  assert.deepEqual([last?.operation, last?.obj.metadata.resourceVersion], ["Delete", gone.metadata.resourceVersion]);
});
