import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  HostKind,
  InstanceKind,
  NamespaceKind,
  EventKind,
  FlavorSpecSchema,
  Strict,
  TokenKind,
  defineKind,
  type KObject,
} from "@kumo/api";
import { KumoClient } from "./client.js";
import { ConnectionError } from "./errors.js";
import { resourcePath } from "./paths.js";
import { FakeApi, Widget, json, status } from "./testing/fake-api.js";
import { waitFor } from "./testing/wait.js";

test("paths follow the Kubernetes layout for core, grouped, namespaced and cluster kinds", () => {
  assert.equal(resourcePath(NamespaceKind), "/api/v1/namespaces");
  assert.equal(resourcePath(NamespaceKind, "ignored", "p1"), "/api/v1/namespaces/p1");
  assert.equal(resourcePath(EventKind), "/api/v1/events");
  assert.equal(resourcePath(EventKind, "p1", "e 1"), "/api/v1/namespaces/p1/events/e%201");
  assert.equal(resourcePath(HostKind, undefined, "h1", "status"), "/apis/infra.kumo.dev/v1/hosts/h1/status");
  assert.throws(() => resourcePath(HostKind, undefined, ""), /name is required/);
});

test("requests carry the token, the field manager and the patch content type", async () => {
  const api = new FakeApi();
  api.intercept = () => json(200, { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "h1" } });
  const c = new KumoClient({ server: "https://kumo.test:6443/", token: "s3cret", fetch: api.fetch, fieldManager: "default-mgr" });
  await c.patch(HostKind, undefined, "h1", "merge", { metadata: { labels: { a: "b" } } });
  await c.patch(HostKind, undefined, "h1", "apply", { metadata: { name: "h1" } }, { fieldManager: "kumo-cli", force: true });
  await c.patch(HostKind, undefined, "h1", "json", [{ op: "add", path: "/spec", value: {} }], { subresource: "status" });
  const [merge, apply, jp] = api.requests;
  assert.equal(merge.headers.get("authorization"), "Bearer s3cret");
  assert.equal(merge.headers.get("content-type"), "application/merge-patch+json");
  assert.equal(merge.url.href, "https://kumo.test:6443/apis/infra.kumo.dev/v1/hosts/h1?fieldManager=default-mgr");
  assert.equal(apply.headers.get("content-type"), "application/apply-patch+yaml");
  assert.equal(apply.url.search, "?fieldManager=kumo-cli&force=true");
  assert.equal(jp.url.pathname, "/apis/infra.kumo.dev/v1/hosts/h1/status");
  assert.equal(jp.headers.get("content-type"), "application/json-patch+json");
});

test("table() asks for a meta.k8s.io Table with the selectors", async () => {
  const api = new FakeApi();
  api.intercept = () => json(200, { kind: "Table", apiVersion: "meta.k8s.io/v1", metadata: {}, columnDefinitions: [], rows: [] });
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const t = await c.table(HostKind, undefined, { labelSelector: "rack=a" });
  assert.equal(t.kind, "Table");
  assert.equal(api.requests[0].headers.get("accept"), "application/json;as=Table;v=v1;g=meta.k8s.io");
  assert.equal(api.requests[0].url.search, "?labelSelector=rack%3Da");
});

test("a Status answer becomes an ApiError with reason, message and causes", async () => {
  const api = new FakeApi();
  api.intercept = () =>
    status(422, "Invalid", 'Host "h1" is invalid: spec.capacity.cpu: must be integer', {
      causes: [{ field: "spec.capacity.cpu", message: "must be integer" }],
    });
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const err = await c
    .create(HostKind, { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name: "h1" } })
    .catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, 422);
  assert.equal(err.reason, "Invalid");
  assert.equal(err.details?.causes?.[0].field, "spec.capacity.cpu");
});

test("a non-Status error body still becomes an ApiError; no answer becomes a ConnectionError", async () => {
  const c1 = new KumoClient({ server: "https://x", fetch: async () => new Response("<html>Bad Gateway</html>\n", { status: 502 }) });
  const e1 = await c1.get(HostKind, undefined, "h1").catch((e: unknown) => e);
  assert.ok(e1 instanceof ApiError);
  assert.equal(e1.code, 502);
  assert.equal(e1.message, "<html>Bad Gateway</html>");
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
  const c2 = new KumoClient({
    server: "https://127.0.0.1:6443",
    fetch: async () => {
      throw refused;
    },
  });
  const e2 = await c2.get(HostKind, undefined, "h1").catch((e: unknown) => e);
  assert.ok(e2 instanceof ConnectionError);
  assert.equal(e2.cause, refused);
  assert.equal(e2.url, "https://127.0.0.1:6443/apis/infra.kumo.dev/v1/hosts/h1");
});

test("watch yields events in order, then ends quietly on abort", async () => {
  const api = new FakeApi();
  api.put({ apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name: "w1" } });
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const ac = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const ev of c.watch(Widget, undefined, { resourceVersion: "0", signal: ac.signal, allowWatchBookmarks: true })) {
      seen.push(`${ev.type} ${ev.object.metadata.name}`);
      if (seen.length === 3) ac.abort();
    }
  })();
  await waitFor(() => api.openWatches === 1);
  api.put({ apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name: "w2" } });
  api.remove("w1");
  await done;
  assert.deepEqual(seen, ["ADDED w1", "ADDED w2", "DELETED w1"]);
  assert.match(api.requests[0].url.search, /watch=1&resourceVersion=0&allowWatchBookmarks=true/);
});

test("a watch ERROR event throws the ApiError it carries (410 → relist)", async () => {
  const api = new FakeApi();
  api.put({ apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name: "w1" } });
  api.compactedRv = 5;
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const err = await (async () => {
    for await (const _ of c.watch(Widget, undefined, { resourceVersion: "1" })) void _;
  })().catch((e: unknown) => e);
  assert.ok(err instanceof ApiError);
  assert.equal(err.code, 410);
  assert.equal(err.reason, "Expired");
});

test("followLog asks for follow=true and yields chunks as they come; stopping early cancels the stream", async () => {
  let url = "";
  let cancelled = false;
  let push: (s: string) => void = () => undefined;
  const body = new ReadableStream<Uint8Array>({
    start: (ctl) => void (push = (s) => ctl.enqueue(new TextEncoder().encode(s))),
    cancel: () => void (cancelled = true),
  });
  const c = new KumoClient({ server: "https://x", fetch: async (u) => ((url = String(u)), new Response(body, { status: 200 })) });
  push("one\n");
  const seen: string[] = [];
  for await (const chunk of c.followLog(InstanceKind, "p1", "web", { tailBytes: 10 })) {
    seen.push(new TextDecoder().decode(chunk));
    if (seen.length === 1) push("two\n");
    else break;
  }
  assert.equal(url, "https://x/apis/compute.kumo.dev/v1/namespaces/p1/instances/web/log?tailBytes=10&follow=true");
  assert.deepEqual(seen, ["one\n", "two\n"]);
  assert.equal(cancelled, true, "the connection is given up, so the server stops following");
});

/** Widget as a typed kind (with a flavor's spec: cpu, memoryMiB): the fake serves it, the client types it by its schema. */
const TypedWidget = defineKind({
  group: "test.kumo.dev",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
  namespaced: false,
  schema: Strict({ spec: FlavorSpecSchema }),
});

test("with a kind from defineKind, reads and writes are typed by its schema; a plain ResourceType stays KObject", async () => {
  const api = new FakeApi();
  api.put({ apiVersion: "test.kumo.dev/v1", kind: "Widget", metadata: { name: "w1" }, spec: { cpu: 1, memoryMiB: 16 } });
  const c = new KumoClient({ server: "https://x", fetch: api.fetch });
  const got = await c.get(TypedWidget, undefined, "w1");
  const cpu: number | undefined = got.spec?.cpu; // compiles only if get() is typed by the kind
  assert.equal(cpu, 1);
  // @ts-expect-error spec.cpu is a number, not a string
  const wrong: string | undefined = got.spec?.cpu;
  void wrong;
  const listed = await c.listAll(TypedWidget);
  assert.deepEqual(
    listed.items.map((w) => w.spec?.cpu),
    [1],
  );
  const grown = await c.guaranteedUpdate(TypedWidget, undefined, "w1", (cur) => ({
    ...cur,
    spec: { ...cur.spec!, cpu: cur.spec!.cpu + 1 }, // `cur` is typed by the kind
  }));
  assert.equal(grown.spec?.cpu, 2);
  // A written object is typed by the kind too, even when it leaves optional fields out.
  api.intercept = (r) => (r.method === "POST" ? json(201, { ...JSON.parse(r.body!), status: { bearerToken: "s3cret" } }) : undefined);
  const spec = { user: "u1" };
  const token = await c.create(TokenKind, { apiVersion: "iam.kumo.dev/v1", kind: "Token", metadata: { generateName: "t-" }, spec });
  const secret: string | undefined = token.status?.bearerToken;
  assert.equal(secret, "s3cret");
  api.intercept = undefined;
  // Callers that name the object type (or pass a discovered ResourceType) keep compiling as before.
  const plain = await c.get<KObject>(Widget, undefined, "w1");
  assert.deepEqual(plain.spec, { cpu: 2, memoryMiB: 16 });
  const explicit = await c.get<KObject<{ cpu: number }>>(TypedWidget, undefined, "w1");
  assert.equal(explicit.spec?.cpu, 2);
});
