/**
 * Kumo's concurrency guarantees on sqlite: concurrent writers lose nothing; a write that would remove
 * another field manager's keys is refused (409 naming manager and keys) unless forced, and the forced
 * removal is in the write history; stale or missing resourceVersions are 409.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiClient, type ChildServer, HOSTS, assertStatus, makeTempDir, removeDir, startChildServer, stopChildServer } from "./helpers.js";

const WRITES_PER_MANAGER = 1_000;
const IN_FLIGHT = 16;
const HOST = "conc-h1";
const MERGE = "application/merge-patch+json";

// Short keys keep the object small: it grows to 2,000 annotations and every write stores it whole.
const keyOf = (mgr: "a" | "b", i: number) => `${mgr}/${String(i).padStart(4, "0")}`;

interface HistoryEntry {
  revision: string;
  manager: string;
  user: string;
  operation: string;
  force: boolean;
  overridden?: { manager: string; paths: string[] }[];
  changes: { path: string; op: "set" | "remove"; value?: unknown; previous?: unknown }[];
}

describe("concurrent field managers on one Host", () => {
  let dir: string;
  let server: ChildServer | undefined;
  let api: ApiClient | undefined;
  let writers: Promise<unknown> = Promise.resolve();

  before(async () => {
    dir = await makeTempDir("concurrency");
    // The server runs in its own process (as in production), so the test's own work does not slow it.
    server = await startChildServer(dir, `sqlite://${join(dir, "kumo.db")}`);
    api = new ApiClient(server.url, server.caCert, server.adminToken, IN_FLIGHT);
    const r = await api.request("POST", `${HOSTS}?fieldManager=e2e-setup`, {
      body: { metadata: { name: HOST }, spec: { capacity: { cpu: 1000 } } },
    });
    assert.equal(r.status, 201, r.text);
  });

  after(async () => {
    api?.close();
    await stopChildServer(server);
    await removeDir(dir);
  });

  // Bounded so that the file ends in time; ~35-50 s on 2 cores today because every write re-encodes the whole
  // (growing) object several times on the server (see the report in the commit message).
  it(
    `2 × ${WRITES_PER_MANAGER} merge patches of disjoint annotations, ${IN_FLIGHT} in flight: none lost`,
    { timeout: 150_000 },
    async (t) => {
      // One queue interleaving both managers; IN_FLIGHT workers drain it, so both write at the same time.
      const queue: { mgr: "a" | "b"; i: number }[] = [];
      for (let i = 0; i < WRITES_PER_MANAGER; i++) queue.push({ mgr: "a", i }, { mgr: "b", i });
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        // Stop on timeout: writers left running would make the following tests race with them.
        while (next < queue.length && !t.signal.aborted) {
          const { mgr, i } = queue[next++];
          const r = await api!.request("PATCH", `${HOSTS}/${HOST}?fieldManager=mgr-${mgr}`, {
            body: { metadata: { annotations: { [keyOf(mgr, i)]: `v${i}` } } },
            contentType: MERGE,
            skipParse: true,
          });
          if (r.status !== 200) failures.push(`${mgr}/${i}: ${r.status} ${r.text.slice(0, 200)}`);
        }
      };
      writers = Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      await writers;
      assert.deepEqual(failures.slice(0, 5), [], `${failures.length} writes failed`);

      const r = await api!.request("GET", `${HOSTS}/${HOST}`);
      assert.equal(r.status, 200, r.text);
      const ann = r.body.metadata.annotations as Record<string, string>;
      const missing: string[] = [];
      for (let i = 0; i < WRITES_PER_MANAGER; i++)
        for (const mgr of ["a", "b"] as const) if (ann[keyOf(mgr, i)] !== `v${i}`) missing.push(keyOf(mgr, i));
      assert.deepEqual(missing.slice(0, 10), [], `${missing.length} of ${2 * WRITES_PER_MANAGER} annotations lost`);
      assert.equal(Object.keys(ann).length, 2 * WRITES_PER_MANAGER);
      // Each manager owns exactly its own keys.
      for (const mgr of ["a", "b"] as const) {
        const entry = (
          r.body.metadata.managedFields as { manager: string; fieldsV1: { "f:metadata": { "f:annotations": Record<string, unknown> } } }[]
        ).find((m) => m.manager === `mgr-${mgr}`);
        assert.ok(entry, `managedFields entry for mgr-${mgr}`);
        const owned = Object.keys(entry.fieldsV1["f:metadata"]["f:annotations"]);
        assert.equal(owned.length, WRITES_PER_MANAGER);
        assert.ok(
          owned.every((k) => k.startsWith(`f:${mgr}/`)),
          `mgr-${mgr} owns only its keys`,
        );
      }
    },
  );

  /** The current object, and its annotation keys per manager (derived, so these tests stand alone). */
  const current = async () => {
    await writers.catch(() => undefined); // after a timeout above, let its last requests finish
    const cur = (await api!.request("GET", `${HOSTS}/${HOST}`)).body;
    const keys = Object.keys(cur.metadata.annotations ?? {}).sort();
    const aKeys = keys.filter((k) => k.startsWith("a/"));
    const bKeys = keys.filter((k) => k.startsWith("b/"));
    assert.ok(aKeys.length > 0 && bKeys.length > 0, "both managers have keys");
    const onlyA = Object.fromEntries(aKeys.map((k) => [k, cur.metadata.annotations[k] as string]));
    return { cur, aKeys, bKeys, body: { ...cur, metadata: { ...cur.metadata, annotations: onlyA } } };
  };

  it("a PUT that drops the other manager's keys is refused with 409 naming manager and keys", async () => {
    const { cur, aKeys, bKeys, body } = await current();
    const r = await api!.request("PUT", `${HOSTS}/${HOST}?fieldManager=mgr-a`, { body });
    assertStatus(
      r,
      {
        code: 409,
        reason: "Conflict",
        message: new RegExp(
          String.raw`^Operation cannot be fulfilled on hosts\.infra\.kumo\.dev "conc-h1": ` +
            String.raw`this write would remove fields owned by other field managers: ` +
            String.raw`metadata\.annotations\[b\/0000\], .* owned by "mgr-b"`,
        ),
      },
      "PUT dropping mgr-b's keys",
    );
    for (const k of bKeys) assert.ok(r.body.message.includes(`metadata.annotations[${k}]`), `the message names dropped key ${k}`);
    assert.ok(!/owned by "mgr-a"/.test(r.body.message), "only the other manager is named");
    const causes = r.body.details.causes as { field: string; message: string; reason: string }[];
    assert.deepEqual(
      causes.map((c) => c.field).sort(),
      bKeys.map((k) => `metadata.annotations[${k}]`),
    );
    assert.ok(causes.every((c) => c.reason === "FieldManagerConflict" && /conflict with "mgr-b"/.test(c.message)));
    const after = (await api!.request("GET", `${HOSTS}/${HOST}`)).body;
    assert.equal(after.metadata.resourceVersion, cur.metadata.resourceVersion, "nothing was written");
    assert.equal(Object.keys(after.metadata.annotations).length, aKeys.length + bKeys.length);
  });

  it("the same PUT with force=true is accepted and the history shows who removed what", async () => {
    const { cur, aKeys, bKeys, body } = await current();
    const r = await api!.request("PUT", `${HOSTS}/${HOST}?fieldManager=mgr-a&force=true`, { body });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(Object.keys(r.body.metadata.annotations).sort(), aKeys);
    assert.ok(!(r.body.metadata.managedFields as { manager: string }[]).some((m) => m.manager === "mgr-b"), "mgr-b owns nothing any more");

    const h = await api!.request("GET", `${HOSTS}/${HOST}/history`);
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.kind, "WriteHistory");
    const items = h.body.items as HistoryEntry[];
    const last = items[items.length - 1];
    assert.equal(last.revision, r.body.metadata.resourceVersion, "the newest entry is the forced PUT");
    assert.equal(last.manager, "mgr-a");
    assert.equal(last.user, "admin");
    assert.equal(last.force, true);
    assert.equal(last.operation, "Update");
    assert.deepEqual(
      last.overridden?.map((o) => o.manager),
      ["mgr-b"],
    );
    assert.deepEqual(
      [...(last.overridden?.[0].paths ?? [])].sort(),
      bKeys.map((k) => `metadata.annotations[${k}]`),
    );
    const removed = last.changes.filter((c) => c.op === "remove");
    assert.deepEqual(
      removed.map((c) => c.path).sort(),
      bKeys.map((k) => `metadata.annotations[${k}]`),
    );
    assert.deepEqual(
      removed.find((c) => c.path === `metadata.annotations[${bKeys[0]}]`),
      { path: `metadata.annotations[${bKeys[0]}]`, op: "remove", previous: cur.metadata.annotations[bKeys[0]] },
    );
    assert.equal(last.changes.filter((c) => c.op === "set").length, 0, "the forced PUT set nothing");
    // An earlier entry says who set the newest of the removed keys (older entries are trimmed to 200).
    const newestB = `metadata.annotations[${bKeys[bKeys.length - 1]}]`;
    const setter = items.find((e) => e.changes.some((c) => c.op === "set" && c.path === newestB));
    assert.equal(setter?.manager, "mgr-b", `history has mgr-b setting ${newestB}`);
    assert.equal(setter?.user, "admin");

    const ev = await api!.request("GET", `/api/v1/namespaces/default/events`);
    assert.equal(ev.status, 200, ev.text);
    const overridden = (ev.body.items as { reason: string; involvedObject: { name: string }; message: string }[]).filter(
      (e) => e.reason === "FieldsOverridden" && e.involvedObject.name === HOST,
    );
    assert.equal(overridden.length, 1, "one Warning event for the forced write");
    assert.match(overridden[0].message, /^mgr-a \(user admin\) removed fields owned by mgr-b with force=true: /);
  });

  it("a PUT with a stale resourceVersion is 409", async () => {
    const cur = (await api!.request("GET", `${HOSTS}/${HOST}`)).body;
    const bump = await api!.request("PATCH", `${HOSTS}/${HOST}?fieldManager=mgr-c`, {
      body: { spec: { capacity: { cpu: 2000 } } },
      contentType: MERGE,
    });
    assert.equal(bump.status, 200, bump.text);
    const r = await api!.request("PUT", `${HOSTS}/${HOST}?fieldManager=mgr-a`, { body: { ...cur, spec: { capacity: { cpu: 3000 } } } });
    assertStatus(
      r,
      {
        code: 409,
        reason: "Conflict",
        message: /^Operation cannot be fulfilled on hosts\.infra\.kumo\.dev "conc-h1": the object has been modified/,
      },
      "stale PUT",
    );
    const now = (await api!.request("GET", `${HOSTS}/${HOST}`)).body;
    assert.equal(now.spec.capacity.cpu, 2000, "the stale write changed nothing");
  });

  it("a PUT without a resourceVersion is 409", async () => {
    const cur = (await api!.request("GET", `${HOSTS}/${HOST}`)).body;
    const { resourceVersion: _rv, ...md } = cur.metadata;
    const r = await api!.request("PUT", `${HOSTS}/${HOST}?fieldManager=mgr-a`, {
      body: { ...cur, metadata: md, spec: { capacity: { cpu: 4000 } } },
    });
    assertStatus(
      r,
      { code: 409, reason: "Conflict", message: /metadata\.resourceVersion must be specified for an update/ },
      "PUT without resourceVersion",
    );
    assert.equal((await api!.request("GET", `${HOSTS}/${HOST}`)).body.spec.capacity.cpu, 2000);
  });
});
