/**
 * @kubernetes/client-node 1.x, unchanged, against a real kumo server: list namespaces and hosts, and watch
 * hosts seeing ADDED/MODIFIED/DELETED for changes made by another client over the HTTP API.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, CustomObjectsApi, KubeConfig, Watch } from "@kubernetes/client-node";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { HOSTS, makeTempDir, removeDir, waitFor } from "./helpers.js";

interface Seen {
  type: string;
  name: string;
  cpu?: number;
  rv: string;
}

describe("@kubernetes/client-node against kumo", () => {
  let dir: string;
  let server: TestServer | undefined;
  let kc: KubeConfig;
  let abort: AbortController | undefined;

  const createHost = async (name: string, cpu: number) => {
    const r = await server!.call("POST", HOSTS, {
      body: { apiVersion: "infra.kumo.dev/v1", kind: "Host", metadata: { name }, spec: { capacity: { cpu } } },
    });
    assert.equal(r.status, 201, r.text);
  };

  before(async () => {
    process.env.KUMO_LOG_LEVEL = "error";
    dir = await makeTempDir("client-node");
    server = await startTestServer({ dataDir: dir, datastore: `sqlite://${join(dir, "kumo.db")}` });
    kc = new KubeConfig();
    kc.loadFromFile(server.kubeconfigPath);
  });

  after(async () => {
    abort?.abort();
    await server?.stop();
    await removeDir(dir);
  });

  it("reads the kubeconfig kumo wrote", () => {
    assert.equal(kc.getCurrentCluster()?.server, server!.url);
    assert.equal(kc.getCurrentUser()?.token, server!.adminToken);
  });

  it("CoreV1Api.listNamespace lists the projects", async () => {
    const list = await kc.makeApiClient(CoreV1Api).listNamespace();
    const names = list.items.map((n) => n.metadata?.name).sort();
    assert.deepEqual(names, ["default", "kumo-system"]);
    assert.equal(list.items[0].status?.phase, "Active");
    assert.match(list.metadata?.resourceVersion ?? "", /^\d+$/);
  });

  it("CustomObjectsApi.listClusterCustomObject lists hosts", async () => {
    await createHost("cn-a", 1000);
    await createHost("cn-b", 2000);
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = await api.listClusterCustomObject({ group: "infra.kumo.dev", version: "v1", plural: "hosts" });
    assert.equal(list.kind, "HostList");
    const got = (list.items as { metadata: { name: string }; spec: { capacity: { cpu: number } } }[]).map(
      (h) => `${h.metadata.name}=${h.spec.capacity.cpu}`,
    );
    assert.deepEqual(got, ["cn-a=1000", "cn-b=2000"]);
    const selected = await api.listClusterCustomObject({
      group: "infra.kumo.dev",
      version: "v1",
      plural: "hosts",
      fieldSelector: "metadata.name=cn-b",
    });
    assert.deepEqual(
      (selected.items as { metadata: { name: string } }[]).map((h) => h.metadata.name),
      ["cn-b"],
    );
    const one = await api.getClusterCustomObject({ group: "infra.kumo.dev", version: "v1", plural: "hosts", name: "cn-a" });
    assert.equal((one as { spec: { capacity: { cpu: number } } }).spec.capacity.cpu, 1000);
  });

  it("Watch sees ADDED, MODIFIED and DELETED made through the HTTP API", async () => {
    const api = kc.makeApiClient(CustomObjectsApi);
    const list = await api.listClusterCustomObject({ group: "infra.kumo.dev", version: "v1", plural: "hosts" });
    const fromRV = list.metadata.resourceVersion as string;
    const seen: Seen[] = [];
    let ended: unknown = "not ended";
    abort = await new Watch(kc).watch(
      HOSTS,
      { resourceVersion: fromRV, allowWatchBookmarks: false },
      (type, obj: { metadata: { name: string; resourceVersion: string }; spec?: { capacity?: { cpu?: number } } }) => {
        seen.push({ type, name: obj.metadata.name, cpu: obj.spec?.capacity?.cpu, rv: obj.metadata.resourceVersion });
      },
      (err) => {
        ended = err ?? "closed";
      },
    );
    await createHost("cn-c", 3000);
    const patched = await server!.call("PATCH", `${HOSTS}/cn-a?fieldManager=e2e`, {
      body: { spec: { capacity: { cpu: 1500 } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(patched.status, 200, patched.text);
    const deleted = await server!.call("DELETE", `${HOSTS}/cn-b`);
    assert.equal(deleted.status, 200, deleted.text);
    await waitFor("three watch events", () => seen.length >= 3, 10_000);
    assert.equal(ended, "not ended", "the watch stays open");
    assert.deepEqual(
      seen.map(({ type, name, cpu }) => ({ type, name, cpu })),
      [
        { type: "ADDED", name: "cn-c", cpu: 3000 },
        { type: "MODIFIED", name: "cn-a", cpu: 1500 },
        { type: "DELETED", name: "cn-b", cpu: 2000 },
      ],
    );
    const rvs = seen.map((s) => Number(s.rv));
    assert.ok(
      rvs.every((rv, i) => rv > Number(fromRV) && (i === 0 || rv > rvs[i - 1])),
      `resourceVersions increase: ${rvs.join(",")}`,
    );
    abort.abort();
    abort = undefined;
  });

  it("Watch without a resourceVersion starts with the current state", async () => {
    const seen: Seen[] = [];
    abort = await new Watch(kc).watch(
      HOSTS,
      {},
      (type, obj: { metadata: { name: string; resourceVersion: string } }) =>
        seen.push({ type, name: obj.metadata.name, rv: obj.metadata.resourceVersion }),
      () => undefined,
    );
    await waitFor("synthetic ADDED events", () => seen.length >= 2, 10_000);
    assert.deepEqual(seen.map((s) => `${s.type} ${s.name}`).sort(), ["ADDED cn-a", "ADDED cn-c"]);
    abort.abort();
    abort = undefined;
  });
});
