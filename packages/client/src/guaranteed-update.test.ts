import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, conflict, conflictCause, type KObject } from "@kumo/api";
import { KumoClient } from "./client.js";
import { FakeApi, Widget, status } from "./testing/fake-api.js";

function widget(name: string, annotations: Record<string, string> = {}): KObject {
  return { apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name, annotations } };
}

test("concurrent writers through guaranteedUpdate lose no change", async () => {
  const api = new FakeApi();
  api.put(widget("w"));
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const writes = [];
  for (let i = 0; i < 40; i++) {
    writes.push(
      c.guaranteedUpdate(Widget, undefined, "w", (cur) => {
        cur.metadata.annotations = { ...cur.metadata.annotations, [`k${i}`]: String(i) };
        return cur;
      }),
    );
  }
  await Promise.all(writes);
  const final = api.objects.get("w") as KObject;
  assert.equal(Object.keys(final.metadata.annotations ?? {}).length, 40);
  const conflicts = api.requests.filter((r) => r.method === "PUT").length - 40;
  assert.ok(conflicts > 0, "the test must actually produce conflicts");
});

test("a stale starting copy costs one retry; the precondition is the version mutate saw", async () => {
  const api = new FakeApi();
  const stale = api.put(widget("w"));
  api.put(widget("w", { other: "writer" }));
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const seen: string[] = [];
  const out = await c.guaranteedUpdate(
    Widget,
    undefined,
    "w",
    (cur) => {
      seen.push(cur.metadata.resourceVersion as string);
      cur.metadata.labels = { mine: "yes" };
      cur.metadata.resourceVersion = "999"; // mutate cannot forge the precondition
      return cur;
    },
    { current: stale },
  );
  assert.deepEqual(seen, ["1", "2"]);
  assert.equal(out.metadata.annotations?.other, "writer");
  assert.equal(out.metadata.labels?.mine, "yes");
});

test("nothing to change means no write", async () => {
  const api = new FakeApi();
  api.put(widget("w", { a: "1" }));
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  await c.guaranteedUpdate(Widget, undefined, "w", () => undefined);
  await c.guaranteedUpdate(Widget, undefined, "w", (cur) => cur);
  assert.equal(api.requests.filter((r) => r.method === "PUT").length, 0);
});

test("a conflict that is not a stale read (ownership) is thrown, not retried forever", async () => {
  const api = new FakeApi();
  api.put(widget("w", { theirs: "x" }));
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  api.intercept = (r) =>
    r.method === "PUT"
      ? status(
          409,
          "Conflict",
          'Operation cannot be fulfilled on widgets.test.kumo.dev "w": would remove metadata.annotations.theirs owned by "agent"',
        )
      : undefined;
  const err = await c
    .guaranteedUpdate(Widget, undefined, "w", (cur) => ({ ...cur, metadata: { ...cur.metadata, annotations: {} } }))
    .catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.match(err.message, /owned by "agent"/);
  assert.equal(api.requests.filter((r) => r.method === "PUT").length, 1);
});

test("other errors (404) are thrown at once", async () => {
  const api = new FakeApi();
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const err = await c.guaranteedUpdate(Widget, undefined, "nope", (cur) => cur).catch((e: unknown) => e);
  assert.ok(err instanceof ApiError && err.code === 404);
});

test("an ownership conflict whose Status says so is thrown without re-reading the object", async () => {
  const api = new FakeApi();
  api.put(widget("w", { theirs: "x" }));
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const t = { group: "test.kumo.dev", resource: "widgets", name: "w" };
  const owned = conflict(t, 'this write would remove fields owned by other field managers: metadata.annotations.theirs owned by "agent"', [
    { reason: "FieldManagerConflict", field: "metadata.annotations.theirs", message: 'conflict with "agent": this write would remove it' },
  ]);
  api.intercept = (r) => (r.method === "PUT" ? status(409, "Conflict", owned.message, owned.details) : undefined);
  const dropAll = (cur: KObject) => ({ ...cur, metadata: { ...cur.metadata, annotations: {} } });
  const err = await c.guaranteedUpdate(Widget, undefined, "w", dropAll).catch((e: unknown) => e);
  assert.equal(conflictCause(err), "FieldManagerConflict");
  assert.deepEqual(
    api.requests.map((r) => r.method),
    ["GET", "PUT"],
  );
});
