/** The write steps without storage: preconditions, identity, ownership on create, no-op detection. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type KObject, ApiError, HostKind, conflictCause } from "@kumo/api";
import { checkPreconditions } from "./preconditions.js";
import { prepareCreate, prepareUpdate } from "./write-pipeline.js";

const ctx = { user: "admin", manager: "kubectl" };
const config = {
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name: "h1", labels: { rack: "r1" } },
  spec: { unschedulable: true },
};

/** A stored Host as an apply by `ctx.manager` created it (resourceVersion stamped as the store would). */
async function applied(): Promise<KObject> {
  const noNamespaces = () => Promise.reject(new Error("a cluster-scoped create must not look up a namespace"));
  const req = { kind: HostKind, namespace: undefined, input: config as KObject, ctx, operation: "Apply" as const };
  const { obj } = await prepareCreate(req, noNamespaces);
  return { ...obj, metadata: { ...obj.metadata, resourceVersion: "5" } };
}

test("preconditions: unstated fields are not checked; a stated one must match", () => {
  const cur = { apiVersion: "v1", kind: "Namespace", metadata: { name: "a", uid: "u1", resourceVersion: "7" } } as KObject;
  const t = { resource: "namespaces", name: "a" };
  checkPreconditions({}, cur, t, "update");
  checkPreconditions({ uid: "u1", resourceVersion: "7" }, cur, t, "delete");
  const failed: string[] = [];
  assert.throws(
    () => checkPreconditions({ uid: "u1", resourceVersion: "6" }, cur, t, "update", (p) => failed.push(p)),
    (e: ApiError) => {
      return conflictCause(e) === "StaleResourceVersion" && /has been modified/.test(e.message);
    },
  );
  assert.throws(
    () => checkPreconditions({ uid: "u2", resourceVersion: "6" }, cur, t, "delete", (p) => failed.push(p)),
    (e: ApiError) => {
      return conflictCause(e) === "UIDPrecondition" && e.details?.causes?.[0]?.field === "metadata.uid";
    },
  );
  assert.deepEqual(failed, ["resourceVersion", "uid"], "the uid is checked first");
});

test("create: the applying manager owns what it applied, and the server sets identity fields", async () => {
  const obj = await applied();
  assert.equal(obj.metadata.generation, 1);
  assert.match(obj.metadata.uid ?? "", /^[0-9a-f-]{36}$/);
  assert.deepEqual(
    obj.metadata.managedFields?.map((m) => [m.manager, m.operation, m.fieldsV1]),
    [["kubectl", "Apply", { "f:metadata": { "f:labels": { "f:rack": {} } }, "f:spec": { "f:unschedulable": {} } }]],
  );
});

test("an identical re-apply is a no-op although it would refresh managedFields times; a changed one is not", async () => {
  const cur = await applied();
  cur.metadata.managedFields = cur.metadata.managedFields?.map((m) => ({ ...m, time: "2000-01-01T00:00:00Z" }));
  const again = { kind: HostKind, cur, next: structuredClone(cur), ctx, operation: "Apply" as const, applyConfig: config };
  assert.equal(prepareUpdate(again), undefined);
  const changed = prepareUpdate({ ...again, applyConfig: { ...config, spec: { unschedulable: false } } });
  const md = changed?.obj.metadata;
  assert.deepEqual([changed?.obj.spec, md?.generation, md?.resourceVersion], [{ unschedulable: false }, 2, undefined]);
});

test("update: the body may not name another object, and server-owned metadata is kept", async () => {
  const cur = await applied();
  const renamed = { ...structuredClone(cur), metadata: { ...cur.metadata, name: "h2" } };
  assert.throws(
    () => prepareUpdate({ kind: HostKind, cur, next: renamed, ctx, operation: "Update" }),
    (e: ApiError) => e.code === 400,
  );
  const forged = structuredClone(cur);
  Object.assign(forged.metadata, { creationTimestamp: "1999-01-01T00:00:00Z", generation: 42, labels: { rack: "r2" } });
  const out = prepareUpdate({ kind: HostKind, cur, next: forged, ctx, operation: "Update" });
  assert.deepEqual([out?.obj.metadata.creationTimestamp, out?.obj.metadata.generation], [cur.metadata.creationTimestamp, 1]);
  assert.deepEqual(
    out?.changes.map((c) => [c.path.join("."), c.op, c.value]),
    [["metadata.labels.rack", "set", "r2"]],
  );
});
