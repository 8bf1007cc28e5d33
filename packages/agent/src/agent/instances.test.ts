// InstanceManager against the real API server in this process (status written through /status with
// guaranteedUpdate, as the agent does) and a fake runtime: the create flow ends Running with the
// agent's conditions, steady state costs no passes, runtimes nobody claims are removed, and a pass
// that fails backs off with a Warning and a False condition. Skipped when packages/server is not built.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Image, ImageKind, type Instance, InstanceKind } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { pino } from "pino";
import type { CompositeRuntimeDriver } from "../runtime/composite.js";
import type { InstanceRuntimeSpec, InstanceRuntimeStatus } from "../runtime/types.js";
import { createNodeFetch } from "@kumo/runtime";
import { ImageCache, blobPath } from "./image-cache.js";
import { InstanceManager } from "./instances.js";
import { runtimeId } from "./instance-spec.js";

interface TestServerLike { url: string; caCert: string; adminToken: string; stop(): Promise<void> }
const serverModule = "@kumo/server/testing";
const mod = (await import(serverModule).catch(() => undefined)) as { startTestServer(o?: { scheduler?: boolean }): Promise<TestServerLike> } | undefined;
const skip = mod ? undefined : "packages/server is not built (npx tsc -b packages/server)";

describe("InstanceManager (in-process API server, fake runtime)", { skip }, () => {
  let s: TestServerLike;
  let tmp = "";
  let client: KumoClient;
  let manager: InstanceManager;
  const runtimes = new Map<string, InstanceRuntimeStatus>();
  const calls: string[] = [];
  const events: string[] = [];
  const steps: string[] = [];
  let failEnsure = false;
  let kicks = 0;
  let instances: Instance[] = [];
  let images: Image[] = [];

  const runtime = {
    ensure: async (spec: InstanceRuntimeSpec) => {
      calls.push(`ensure ${spec.id}`);
      if (failEnsure) throw new Error("runc create failed: exec: \"nope\": executable file not found");
      const st = runtimes.get(spec.id) ?? { id: spec.id, kind: spec.kind, state: "running", pid: 4242, startedAt: new Date().toISOString(), exitCode: null, restartCount: 0, timings: { total: 30 } } as InstanceRuntimeStatus;
      runtimes.set(spec.id, st);
      return st;
    },
    stop: async (id: string) => void calls.push(`stop ${id}`),
    remove: async (id: string) => { calls.push(`remove ${id}`); runtimes.delete(id); },
    list: async () => [...runtimes.values()],
    logs: async () => "",
  } as unknown as CompositeRuntimeDriver;

  const refresh = async () => {
    instances = (await client.list<Instance>(InstanceKind, "default")).items;
    images = (await client.list<Image>(ImageKind)).items;
  };
  const idle = async () => {
    for (let i = 0; i < 200 && (manager.snapshot().instances as { worker?: unknown }[]).some((x) => x.worker); i++) await new Promise((r) => setTimeout(r, 10));
  };

  before(async () => {
    s = await mod!.startTestServer({ scheduler: false });
    tmp = await mkdtemp(join(tmpdir(), "kumo-instances-"));
    client = new KumoClient({ server: s.url, token: s.adminToken, fetch: createNodeFetch({ caPem: s.caCert }) });
    const tar = Buffer.from("not really a tar, never unpacked: the cache below is told it has it");
    await client.create(ImageKind, { apiVersion: "compute.kumo.dev/v1", kind: "Image", metadata: { name: "busybox" }, spec: { format: "rootfs-tar" } });
    await new Promise<void>((res, rej) => {
      const u = new URL(`${s.url}${blobPath("busybox", "rootfs")}?sha256=${createHash("sha256").update(tar).digest("hex")}`);
      const req = request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search, method: "PUT", ca: s.caCert, headers: { authorization: `Bearer ${s.adminToken}`, "content-length": String(tar.length) } }, (r) => { r.resume(); r.on("end", res); });
      req.on("error", rej);
      req.end(tar);
    });
    const cache = new ImageCache({ dir: join(tmp, "images"), fetchBlob: () => Promise.reject(new Error("no download expected")) });
    Object.assign(cache, { has: async () => true, ensure: async (img: Image) => ({ name: img.metadata.name, format: "rootfs-tar", files: {}, rootfs: "/rootfs", hit: true, downloadedBytes: 0, ms: 0 }) });
    manager = new InstanceManager({
      self: "h1", netnsPrefix: "h1test", stateDir: tmp, client, log: pino({ level: "silent" }),
      events: { record: async (_o, type, reason) => void events.push(`${type} ${reason}`) },
      runtime, images: cache,
      dataplane: { networkState: () => ({ ready: true, reason: "BridgeUp", message: "", bridge: "kbr-1", mtu: 1450 }), leases: async () => [], watchLeases: () => ({ next: async () => undefined, close: () => undefined }) },
      view: () => ({ instances, images, ports: [], networks: [] }),
      onProgress: () => void kicks++, onStep: (_k, step) => void steps.push(step),
      net: { plug: async () => undefined, unplug: async (o) => void calls.push(`unplug ${o.portNetns}`), dhcp: async () => { throw new Error("no DHCP without networks"); }, hasAddress: async () => false, fileExists: async () => false },
    });
  });

  after(async () => {
    await s?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("runs a bound instance to Running and writes the agent's conditions through /status", async () => {
    const created = await client.create<Instance>(InstanceKind, { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name: "web", namespace: "default" }, spec: { kind: "container", image: "busybox" } });
    await client.guaranteedUpdate<Instance>(InstanceKind, "default", "web", (cur) => ({ ...cur, status: { ...cur.status, host: "h1" } }), { subresource: "status" });
    await refresh();
    await manager.sync();
    await idle();
    const got = await client.get<Instance>(InstanceKind, "default", "web");
    const cond = (t: string) => got.status?.conditions?.find((c) => c.type === t);
    for (const t of ["ImageReady", "NetworkReady", "Started", "AddressAssigned", "Running"]) assert.equal(cond(t)?.status, "True", t);
    assert.deepEqual([got.status?.phase, got.status?.host], ["Running", "h1"]);
    assert.ok(calls.includes(`ensure ${runtimeId(created)}`));
    assert.deepEqual(steps.sort(), ["AddressAssigned", "ImageReady", "NetworkReady", "Running", "Started"]);
    assert.ok(events.includes("Normal Running"));
    assert.ok(kicks > 0, "a pass that changed something asks for another");
  });

  it("steady state: another sync with nothing new starts no pass and writes nothing", async () => {
    await refresh();
    await manager.sync(); // sees its own write (new resourceVersion) once
    await idle();
    await refresh();
    const rv = instances[0]!.metadata.resourceVersion;
    const passes = manager.counters.passes;
    await manager.sync();
    await idle();
    assert.equal(manager.counters.passes, passes);
    assert.equal((await client.get(InstanceKind, "default", "web")).metadata.resourceVersion, rv);
  });

  it("removes a runtime no instance claims, with its netns", async () => {
    runtimes.set("ghost-0badc0de", { id: "ghost-0badc0de", kind: "container", state: "running", pid: 1, startedAt: null, exitCode: null, restartCount: 0, timings: {} });
    await new Promise((r) => setTimeout(r, 1100)); // list() is throttled to once a second
    await manager.sync();
    for (let i = 0; i < 100 && runtimes.has("ghost-0badc0de"); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(calls.includes("remove ghost-0badc0de"));
    assert.ok(calls.includes("unplug h1test-i-0badc0de"));
    assert.equal(manager.counters.orphansRemoved, 1);
  });

  it("a failing start backs off, with a Warning Event and Started=False", async () => {
    failEnsure = true;
    await client.create(InstanceKind, { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name: "bad", namespace: "default" }, spec: { kind: "container", image: "busybox", command: ["nope"] } });
    await client.guaranteedUpdate<Instance>(InstanceKind, "default", "bad", (cur) => ({ ...cur, status: { ...cur.status, host: "h1" } }), { subresource: "status" });
    await refresh();
    await manager.sync();
    await idle();
    const bad = await client.get<Instance>(InstanceKind, "default", "bad");
    const started = bad.status?.conditions?.find((c) => c.type === "Started");
    assert.deepEqual([started?.status, started?.reason], ["False", "Error"]);
    assert.match(started?.message ?? "", /executable file not found/);
    assert.ok(events.includes("Warning StartedFailed"));
    const ensures = calls.filter((c) => c.startsWith(`ensure ${runtimeId(bad)}`)).length;
    await refresh();
    await manager.sync();
    await idle();
    assert.equal(calls.filter((c) => c.startsWith(`ensure ${runtimeId(bad)}`)).length, ensures, "no retry before the backoff ends");
    failEnsure = false;
  });
});
