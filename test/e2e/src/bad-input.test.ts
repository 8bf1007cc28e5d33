/**
 * Bad input, table-driven: malformed bodies, wrong types, unknown fields, invalid names, oversized bodies,
 * unknown kinds/versions, unsupported patch types, bad tokens and RBAC denials. Every case must be a 4xx
 * Kubernetes `Status` with the right reason, a clear message and (where there is one) the field path;
 * never a 5xx; and the server must still answer afterwards.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { ApiClient, type ExpectedStatus, HOSTS, assertStatus, makeTempDir, removeDir, waitFor } from "./helpers.js";

const TOKENS = "/apis/iam.kumo.dev/v1/tokens";
const SECRETS = (ns: string) => `/api/v1/namespaces/${ns}/secrets`;
const MERGE = "application/merge-patch+json";
const MiB = 1024 * 1024;

/** Tokens and identities the cases use, filled in by `before`. */
const who = { revoked: "", expired: "", deleted: "", alice: "" };

interface Case {
  name: string;
  method: string;
  path: string;
  body?: unknown;
  contentType?: string;
  /** Token to send: a key of `who`, "none" for no header, or a literal header value via `authorization`. */
  as?: keyof typeof who | "none";
  authorization?: string;
  chunked?: boolean;
  expect: ExpectedStatus;
}

const host = (extra: Record<string, unknown> = {}, name = "bad-x") => ({
  apiVersion: "infra.kumo.dev/v1",
  kind: "Host",
  metadata: { name },
  ...extra,
});
const nested = (depth: number) => JSON.parse(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`);
const bigAnnotation = (bytes: number) => JSON.stringify(host({ metadata: { name: "bad-big", annotations: { big: "x".repeat(bytes) } } }));
const yamlBomb = [
  'a: &a ["x","x","x","x","x","x","x","x","x"]',
  "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
  "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
  "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
  "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
  "f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]",
  "metadata: {name: bomb}",
].join("\n");

const BAD_REQUEST = (message: RegExp, field?: string): ExpectedStatus => ({ code: 400, reason: "BadRequest", message, field });
const INVALID = (field: string, message: RegExp): ExpectedStatus => ({ code: 422, reason: "Invalid", message, field });
/** Either refusal is right for these (Kubernetes uses both, depending on where decoding fails). */
const BAD_OR_INVALID = (message: RegExp, field?: string): ExpectedStatus => ({
  code: [400, 422],
  reason: ["BadRequest", "Invalid"],
  message,
  field,
});
const UNAUTHORIZED = (message: RegExp): ExpectedStatus => ({ code: 401, reason: "Unauthorized", message });
const FORBIDDEN = (message: RegExp): ExpectedStatus => ({ code: 403, reason: "Forbidden", message });

const CASES: Case[] = [
  // Malformed documents.
  {
    name: "malformed JSON",
    method: "POST",
    path: HOSTS,
    body: '{"metadata":{"name":"x"',
    expect: BAD_REQUEST(/^invalid JSON in request body: /),
  },
  {
    name: "malformed YAML",
    method: "POST",
    path: HOSTS,
    contentType: "application/yaml",
    body: "metadata:\n  name: [x\n",
    expect: BAD_REQUEST(/^invalid YAML in request body: /),
  },
  {
    name: "YAML that is a list",
    method: "POST",
    path: HOSTS,
    contentType: "application/yaml",
    body: "- a\n- b\n",
    expect: BAD_REQUEST(/must be a JSON or YAML object/),
  },
  {
    name: "YAML alias bomb",
    method: "POST",
    path: HOSTS,
    contentType: "application/yaml",
    body: yamlBomb,
    expect: BAD_REQUEST(/invalid YAML in request body: .*alias/i),
  },
  { name: "empty body", method: "POST", path: HOSTS, body: "", expect: BAD_REQUEST(/request body is empty/) },
  { name: "JSON null body", method: "POST", path: HOSTS, body: "null", expect: BAD_REQUEST(/must be a JSON or YAML object/) },
  {
    name: "JSON nested 2,000 deep (14 KB)",
    method: "POST",
    path: HOSTS,
    body: host({ spec: { capacity: nested(2_000) } }),
    expect: BAD_OR_INVALID(/\S/),
  },
  {
    name: "merge patch nested 2,000 deep",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: MERGE,
    body: { spec: nested(2_000) },
    expect: BAD_OR_INVALID(/\S/),
  },
  // Wrong types.
  {
    name: "string for an integer",
    method: "POST",
    path: HOSTS,
    body: host({ spec: { capacity: { cpu: "lots" } } }),
    expect: INVALID("spec.capacity.cpu", /spec\.capacity\.cpu: Invalid value: "lots": .*integer/),
  },
  {
    name: "string for an object",
    method: "POST",
    path: HOSTS,
    body: host({ spec: "big" }),
    expect: INVALID("spec", /spec: Invalid value: "big": .*object/),
  },
  {
    name: "negative capacity",
    method: "POST",
    path: HOSTS,
    body: host({ spec: { capacity: { memoryMiB: -1 } } }),
    expect: INVALID("spec.capacity.memoryMiB", /spec\.capacity\.memoryMiB: Invalid value: -1/),
  },
  {
    name: "not an IPv4 address",
    method: "POST",
    path: HOSTS,
    body: host({ spec: { underlayIP: "999.1.1.1" } }),
    expect: INVALID("spec.underlayIP", /spec\.underlayIP: .*ipv4/),
  },
  {
    name: "number as label value",
    method: "POST",
    path: HOSTS,
    body: host({ metadata: { name: "bad-x", labels: { tier: 1 } } }),
    expect: INVALID("metadata.labels.tier", /metadata\.labels\.tier: must be a string/),
  },
  {
    name: "string as metadata",
    method: "POST",
    path: HOSTS,
    body: host({ metadata: "x" }),
    expect: BAD_REQUEST(/metadata: must be an object/, "metadata"),
  },
  {
    name: "secret data not base64",
    method: "POST",
    path: SECRETS("default"),
    body: { metadata: { name: "s1" }, data: { k: "not base64!!" } },
    expect: INVALID("data[k]", /data\[k\]: must be base64-encoded/),
  },
  {
    name: "token expiresAt not a date",
    method: "POST",
    path: TOKENS,
    body: { metadata: { name: "t-bad" }, spec: { user: "admin", expiresAt: "tomorrow" } },
    expect: INVALID("spec.expiresAt", /spec\.expiresAt: .*date-time/),
  },
  {
    name: "merge patch with a wrong type",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: MERGE,
    body: { spec: { unschedulable: "yes" } },
    expect: INVALID("spec.unschedulable", /spec\.unschedulable: Invalid value: "yes": .*boolean/),
  },
  {
    name: "JSON patch that is not a list",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: "application/json-patch+json",
    body: { op: "add" },
    expect: BAD_REQUEST(/json patch must be a JSON array/),
  },
  {
    name: "JSON patch replacing metadata with a number",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: "application/json-patch+json",
    body: [{ op: "replace", path: "/metadata", value: 5 }],
    expect: BAD_OR_INVALID(/metadata/, "metadata"),
  },
  {
    name: "number as resourceVersion",
    method: "PUT",
    path: `${HOSTS}/bad-h1`,
    body: host({ metadata: { name: "bad-h1", resourceVersion: 5 } }),
    expect: BAD_OR_INVALID(/metadata\.resourceVersion/, "metadata.resourceVersion"),
  },
  {
    name: "delete options with a wrong type",
    method: "DELETE",
    path: `${HOSTS}/bad-keep`,
    body: { preconditions: "yes" },
    expect: BAD_OR_INVALID(/preconditions/),
  },
  {
    name: "bad propagationPolicy",
    method: "DELETE",
    path: `${HOSTS}/bad-keep`,
    body: { propagationPolicy: "Sometimes" },
    expect: BAD_REQUEST(/propagationPolicy must be Background, Foreground or Orphan/),
  },
  // Unknown fields.
  {
    name: "unknown spec field",
    method: "POST",
    path: HOSTS,
    body: host({ spec: { colour: "red" } }),
    expect: INVALID("spec.colour", /unknown field "spec\.colour"/),
  },
  {
    name: "unknown top-level field",
    method: "POST",
    path: HOSTS,
    body: host({ extra: 1 }),
    expect: INVALID("extra", /unknown field "extra"/),
  },
  {
    name: "unknown metadata field",
    method: "POST",
    path: HOSTS,
    body: host({ metadata: { name: "bad-x", colour: "red" } }),
    expect: INVALID("metadata.colour", /unknown field "metadata\.colour"/),
  },
  {
    name: "unknown field in server-side apply",
    method: "PATCH",
    path: `${HOSTS}/bad-h1?fieldManager=e2e`,
    contentType: "application/apply-patch+yaml",
    body: host({ spec: { colour: "red" } }, "bad-h1"),
    expect: INVALID("spec.colour", /unknown field "spec\.colour"/),
  },
  // Invalid names.
  {
    name: "uppercase name",
    method: "POST",
    path: HOSTS,
    body: host({}, "Bad_Name"),
    expect: INVALID("metadata.name", /metadata\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain/),
  },
  {
    name: "name of 300 characters",
    method: "POST",
    path: HOSTS,
    body: host({}, "a".repeat(300)),
    expect: INVALID("metadata.name", /metadata\.name: Invalid value: "a+": .*253/),
  },
  {
    name: "missing name",
    method: "POST",
    path: HOSTS,
    body: { spec: {} },
    expect: INVALID("metadata.name", /metadata\.name: Required value/),
  },
  {
    name: "namespace name with a dot",
    method: "POST",
    path: "/api/v1/namespaces",
    body: { metadata: { name: "bad.ns" } },
    expect: INVALID("metadata.name", /RFC 1123 label/),
  },
  {
    name: "name in body differs from URL",
    method: "PATCH",
    path: `${HOSTS}/bad-h1?fieldManager=e2e`,
    contentType: "application/apply-patch+yaml",
    body: host({}, "other"),
    expect: BAD_REQUEST(/does not match the URL/),
  },
  {
    name: "malformed %-escape in the name",
    method: "GET",
    path: `${HOSTS}/%zz`,
    expect: { code: [400, 404], reason: ["BadRequest", "NotFound"], message: /%zz|malformed|not found/i },
  },
  {
    name: "create in a missing namespace",
    method: "POST",
    path: SECRETS("no-such-ns"),
    body: { metadata: { name: "s1" } },
    expect: { code: 404, reason: "NotFound", message: /namespaces "no-such-ns" not found/ },
  },
  // Size.
  {
    name: "body over 3 MiB",
    method: "POST",
    path: HOSTS,
    body: bigAnnotation(3 * MiB),
    expect: { code: 413, reason: "RequestEntityTooLarge", message: /larger than the limit of 3145728 bytes/ },
  },
  {
    name: "chunked body over 3 MiB",
    method: "POST",
    path: HOSTS,
    body: bigAnnotation(3 * MiB),
    chunked: true,
    expect: { code: 413, reason: "RequestEntityTooLarge", message: /larger than the limit of 3145728 bytes/ },
  },
  // Unknown kinds and versions.
  {
    name: "unknown resource",
    method: "POST",
    path: "/apis/infra.kumo.dev/v1/widgets",
    body: host(),
    expect: { code: 404, reason: "NotFound", message: /no resource "widgets" in infra\.kumo\.dev\/v1/ },
  },
  {
    name: "unknown version in the URL",
    method: "GET",
    path: "/apis/infra.kumo.dev/v2/hosts",
    expect: { code: 404, reason: "NotFound", message: /no resource "hosts" in infra\.kumo\.dev\/v2 \(served as infra\.kumo\.dev\/v1\)/ },
  },
  {
    name: "unknown group",
    method: "GET",
    path: "/apis/nosuch.example/v1/things",
    expect: { code: 404, reason: "NotFound", message: /no resource "things" in nosuch\.example\/v1/ },
  },
  {
    name: "unknown version in the body",
    method: "POST",
    path: HOSTS,
    body: { ...host(), apiVersion: "infra.kumo.dev/v2" },
    expect: BAD_REQUEST(/unknown version "infra\.kumo\.dev\/v2": this server serves infra\.kumo\.dev\/v1/, "apiVersion"),
  },
  {
    name: "unknown kind in the body",
    method: "POST",
    path: HOSTS,
    body: { ...host(), kind: "Widget" },
    expect: BAD_REQUEST(/kind "Widget" does not match the URL \(Host\)/, "kind"),
  },
  // Media types.
  {
    name: "strategic merge patch",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: "application/strategic-merge-patch+json",
    body: { spec: {} },
    expect: { code: 415, reason: "UnsupportedMediaType", message: /strategic merge patch is not supported/ },
  },
  {
    name: "text/plain body",
    method: "POST",
    path: HOSTS,
    contentType: "text/plain",
    body: "{}",
    expect: { code: 415, reason: "UnsupportedMediaType", message: /unsupported media type "text\/plain"/ },
  },
  {
    name: "unknown patch type",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: "application/x-patch",
    body: "{}",
    expect: { code: 415, reason: "UnsupportedMediaType", message: /unsupported patch type/ },
  },
  {
    name: "apply without fieldManager",
    method: "PATCH",
    path: `${HOSTS}/bad-h1`,
    contentType: "application/apply-patch+yaml",
    body: host({}, "bad-h1"),
    expect: BAD_REQUEST(/fieldManager is required/),
  },
  // Query parameters.
  { name: "non-numeric limit", method: "GET", path: `${HOSTS}?limit=ten`, expect: BAD_REQUEST(/limit must be a non-negative integer/) },
  {
    name: "garbage continue token",
    method: "GET",
    path: `${HOSTS}?limit=1&continue=garbage`,
    expect: BAD_REQUEST(/invalid continue token/),
  },
  { name: "garbage label selector", method: "GET", path: `${HOSTS}?labelSelector=a%20in%20((`, expect: BAD_REQUEST(/label selector/) },
  {
    name: "non-numeric watch resourceVersion",
    method: "GET",
    path: `${HOSTS}?watch=1&resourceVersion=abc`,
    expect: BAD_REQUEST(/resourceVersion must be a number/),
  },
  {
    name: "bad fieldValidation",
    method: "POST",
    path: `${HOSTS}?fieldValidation=Loose`,
    body: host(),
    expect: BAD_REQUEST(/fieldValidation must be Strict, Warn or Ignore/),
  },
  // Tokens.
  { name: "no token", method: "GET", path: HOSTS, as: "none", expect: UNAUTHORIZED(/send a bearer token/) },
  {
    name: "not a bearer token",
    method: "GET",
    path: HOSTS,
    authorization: "Basic YWRtaW46YWRtaW4=",
    expect: UNAUTHORIZED(/send a bearer token/),
  },
  {
    name: "unknown token",
    method: "GET",
    path: HOSTS,
    authorization: "Bearer kumo_0000000000000000000000000000000000000000",
    expect: UNAUTHORIZED(/invalid bearer token/),
  },
  { name: "revoked token", method: "GET", path: HOSTS, as: "revoked", expect: UNAUTHORIZED(/token "t-revoked" has been revoked/) },
  {
    name: "expired token",
    method: "GET",
    path: HOSTS,
    as: "expired",
    expect: UNAUTHORIZED(/token "t-expired" expired at 2020-01-01T00:00:00Z/),
  },
  { name: "deleted (stale) token", method: "GET", path: HOSTS, as: "deleted", expect: UNAUTHORIZED(/invalid bearer token/) },
  // RBAC: alice may edit in project "a" only.
  {
    name: "create in another project",
    method: "POST",
    path: SECRETS("b"),
    as: "alice",
    body: { metadata: { name: "s1" } },
    expect: FORBIDDEN(/User "alice" cannot create resource "secrets" in API group "" in the namespace "b"/),
  },
  {
    name: "read in another project",
    method: "GET",
    path: SECRETS("b"),
    as: "alice",
    expect: FORBIDDEN(/User "alice" cannot list resource "secrets" in API group "" in the namespace "b"/),
  },
  {
    name: "list cluster-scoped hosts",
    method: "GET",
    path: HOSTS,
    as: "alice",
    expect: FORBIDDEN(/User "alice" cannot list resource "hosts" in API group "infra\.kumo\.dev" at the cluster scope/),
  },
  {
    name: "create a host",
    method: "POST",
    path: HOSTS,
    as: "alice",
    body: host(),
    expect: FORBIDDEN(/User "alice" cannot create resource "hosts"/),
  },
  {
    name: "grant herself more",
    method: "POST",
    path: "/apis/iam.kumo.dev/v1/clusterrolebindings",
    as: "alice",
    body: { metadata: { name: "alice-admin" }, roleRef: { name: "admin" }, subjects: [{ kind: "User", name: "alice" }] },
    expect: FORBIDDEN(/User "alice" cannot create resource "clusterrolebindings"/),
  },
];

describe("bad input is refused with a 4xx Status", () => {
  let dir: string;
  let server: TestServer | undefined;
  let api: ApiClient | undefined;

  const ok = async (method: string, path: string, body: unknown, code = 201, contentType?: string) => {
    const r = await api!.request(method, path, { body, contentType });
    assert.equal(r.status, code, `${method} ${path}: ${r.text}`);
    return r.body;
  };
  const newToken = async (name: string, spec: Record<string, unknown>): Promise<string> => {
    const t = await ok("POST", TOKENS, { metadata: { name }, spec });
    assert.match(t.status.bearerToken, /^kumo_/);
    return t.status.bearerToken as string;
  };
  const statusAs = async (token: string, method = "GET", path = "/api/v1/namespaces/default", body?: unknown) =>
    (await api!.request(method, path, { token, body })).status;

  before(async () => {
    process.env.KUMO_LOG_LEVEL = "error";
    dir = await makeTempDir("bad-input");
    server = await startTestServer({ dataDir: dir, datastore: `sqlite://${join(dir, "kumo.db")}` });
    api = new ApiClient(server.url, server.caCert, server.adminToken, 8);
    await ok("POST", HOSTS, host({ spec: { capacity: { cpu: 1000 } } }, "bad-h1"));
    await ok("POST", HOSTS, host({}, "bad-keep"));
    await ok("POST", "/api/v1/namespaces", { metadata: { name: "a" } });
    await ok("POST", "/api/v1/namespaces", { metadata: { name: "b" } });

    // Tokens: each must work first, so that the failure later is about its state, not a typo.
    who.revoked = await newToken("t-revoked", { user: "admin" });
    who.deleted = await newToken("t-deleted", { user: "admin" });
    who.expired = await newToken("t-expired", { user: "admin", expiresAt: "2020-01-01T00:00:00Z" });
    await waitFor(
      "the new tokens to be accepted",
      async () => (await statusAs(who.revoked)) === 200 && (await statusAs(who.deleted)) === 200,
    );
    await ok("PATCH", `${TOKENS}/t-revoked`, { spec: { revoked: true } }, 200, MERGE);
    await ok("DELETE", `${TOKENS}/t-deleted`, undefined, 200);
    await waitFor(
      "the revoked and deleted tokens to be refused",
      async () => (await statusAs(who.revoked)) === 401 && (await statusAs(who.deleted)) === 401,
    );

    // alice: bound to "edit" in project a.
    await ok("POST", "/apis/iam.kumo.dev/v1/users", { metadata: { name: "alice" }, spec: { displayName: "Alice" } });
    who.alice = await newToken("t-alice", { user: "alice" });
    await ok("POST", "/apis/iam.kumo.dev/v1/namespaces/a/rolebindings", {
      metadata: { name: "alice-edit" },
      roleRef: { name: "edit" },
      subjects: [{ kind: "User", name: "alice" }],
    });
    await waitFor("alice's binding to take effect", async () => (await statusAs(who.alice, "GET", SECRETS("a"))) === 200);
  });

  after(async () => {
    api?.close();
    await server?.stop();
    await removeDir(dir);
  });

  it("alice can create a Secret in her project", async () => {
    const r = await api!.request("POST", SECRETS("a"), { token: who.alice, body: { metadata: { name: "s1" }, stringData: { k: "v" } } });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.data.k, Buffer.from("v").toString("base64"));
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.method} ${c.path.slice(0, 60)} → ${String(c.expect.code)}`, async () => {
      const headers: Record<string, string> = c.authorization ? { authorization: c.authorization } : {};
      const token = c.authorization ? null : c.as === "none" ? null : c.as ? who[c.as] : undefined;
      const res = await api!.request(c.method, c.path, { body: c.body, contentType: c.contentType, token, headers, chunked: c.chunked });
      assertStatus(res, c.expect, c.name);
    });
  }

  it("refused requests changed nothing, and the server still answers", async () => {
    assert.equal((await api!.request("GET", "/healthz", { token: null })).text, "ok");
    const list = await api!.request("GET", HOSTS);
    assert.equal(list.status, 200, list.text);
    const names = (list.body.items as { metadata: { name: string } }[]).map((h) => h.metadata.name);
    // (bad-keep's absence is reported by the "delete options with a wrong type" case itself.)
    assert.deepEqual(
      names.filter((n) => n !== "bad-keep"),
      ["bad-h1"],
      "no refused create stored anything",
    );
    const h1 = await api!.request("GET", `${HOSTS}/bad-h1`);
    assert.deepEqual(h1.body.spec, { capacity: { cpu: 1000 } });
    assert.equal(h1.body.metadata.generation, 1);
    assert.equal((await api!.request("GET", SECRETS("b"))).body.items.length, 0);
    const w = await api!.request("PATCH", `${HOSTS}/bad-h1?fieldManager=e2e`, {
      body: { spec: { unschedulable: true } },
      contentType: MERGE,
    });
    assert.equal(w.status, 200, w.text);
  });
});
