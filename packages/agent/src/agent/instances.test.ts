// The instances loop against the real API server in this process (informers, status written through /status
// with guaranteedUpdate, as the agent does) and a fake runtime: the create flow ends Running with the
// agent's conditions, steady state costs no passes, runtimes nobody claims are removed, a pass that fails
// backs off with a Warning and a False condition, and an instance stuck in its image download holds up no
// other instance. Skipped when packages/server is not built.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request } from "node:https";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type Image, ImageKind, type Instance, InstanceKind } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { ComponentManager, createNodeFetch } from "@kumo/runtime";
import { pino } from "pino";
import { Registry } from "prom-client";
import type { HostRuntimeDriver, InstanceRuntimeSpec, InstanceRuntimeStatus } from "../runtime/types.js";
import { ImageCache, blobPath } from "./image-cache.js";
import { agentCaches, cachesComponent } from "./informers.js";
import { InstanceManager, SWEEP_KEY } from "./instances.js";
import { runtimeId } from "./instance-spec.js";

interface TestServerLike {
  url: string;
  caCert: string;
  adminToken: string;
  stop(): Promise<void>;
}
const serverModule = "@kumo/server/testing";
const mod = (await import(serverModule).catch(() => undefined)) as
  { startTestServer(o?: { scheduler?: boolean }): Promise<TestServerLike> } | undefined;
const skip = mod ? undefined : "packages/server is not built (npx tsc -b packages/server)";

describe("instances loop (in-process API server, fake runtime)", { skip }, () => {
  let s: TestServerLike;
  let tmp = "";
  let client: KumoClient;
  let manager: InstanceManager;
  let components: ComponentManager;
  const runtimes = new Map<string, InstanceRuntimeStatus>();
  const calls: string[] = [];
  const events: string[] = [];
  const steps: string[] = [];
  let failEnsure = false;

  const runtime = {
    ensure: async (spec: InstanceRuntimeSpec) => {
      calls.push(`ensure ${spec.id}`);
      if (failEnsure && spec.id.startsWith("bad")) throw new Error('runc create failed: exec: "nope": executable file not found');
      const st = runtimes.get(spec.id) ?? {
        id: spec.id,
        kind: spec.kind,
        state: "running",
        pid: 4242,
        startedAt: new Date().toISOString(),
        exitCode: null,
        restartCount: 0,
        timings: { total: 30 },
      };
      runtimes.set(spec.id, st);
      return st;
    },
    stop: async (id: string) => void calls.push(`stop ${id}`),
    remove: async (id: string) => {
      calls.push(`remove ${id}`);
      runtimes.delete(id);
    },
    list: async () => [...runtimes.values()],
    logs: async () => "",
    logFile: (id: string) => `/nonexistent/${id}.log`,
    snapshot: () => ({}),
  } satisfies HostRuntimeDriver;

  const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const cond = (i: Instance, t: string) => i.status?.conditions?.find((c) => c.type === t);
  const bind = async (name: string, spec: Partial<Instance["spec"]> = {}) => {
    const metadata = { name, namespace: "default" };
    const full = { kind: "container", image: "busybox", ...spec };
    await client.create(InstanceKind, { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata, spec: full });
    const toH1 = (cur: Instance) => ({ ...cur, status: { ...cur.status, host: "h1" } });
    await client.guaranteedUpdate<Instance>(InstanceKind, "default", name, toH1, { subresource: "status" });
  };
  const get = (name: string) => client.get<Instance>(InstanceKind, "default", name);

  before(async () => {
    s = await mod!.startTestServer({ scheduler: false });
    tmp = await mkdtemp(join(tmpdir(), "kumo-instances-"));
    client = new KumoClient({ server: s.url, token: s.adminToken, fetch: createNodeFetch({ caPem: s.caCert }) });
    const tar = Buffer.from("not really a tar, never unpacked: the cache below is told it has it");
    for (const name of ["busybox", "stuck"]) {
      const image = { apiVersion: "compute.kumo.dev/v1", kind: "Image", metadata: { name }, spec: { format: "rootfs-tar" } };
      await client.create(ImageKind, image);
      await new Promise<void>((res, rej) => {
        const u = new URL(`${s.url}${blobPath(name, "rootfs")}?sha256=${createHash("sha256").update(tar).digest("hex")}`);
        const headers = { authorization: `Bearer ${s.adminToken}`, "content-length": String(tar.length) };
        const where = { hostname: u.hostname, port: u.port, path: u.pathname + u.search };
        const req = request({ ...where, method: "PUT", ca: s.caCert, headers }, (r) => {
          r.resume();
          r.on("end", res);
        });
        req.on("error", rej);
        req.end(tar);
      });
    }
    const cache = new ImageCache({ dir: join(tmp, "images"), fetchBlob: () => Promise.reject(new Error("no download expected")) });
    // "stuck" never finishes downloading (until the pass is aborted): it must not hold up other instances.
    const ensure = async (img: Image, signal?: AbortSignal) => {
      const aborted = () => Object.assign(new Error("aborted"), { name: "AbortError" });
      if (img.metadata.name === "stuck") await new Promise((_r, rej) => signal?.addEventListener("abort", () => rej(aborted())));
      return { name: img.metadata.name, format: "rootfs-tar", files: {}, rootfs: "/rootfs", hit: true, downloadedBytes: 0, ms: 0 };
    };
    Object.assign(cache, { has: async () => true, ensure });
    const log = pino({ level: "silent" });
    const caches = agentCaches(client, log);
    manager = new InstanceManager({
      self: "h1",
      netnsPrefix: "h1test",
      stateDir: tmp,
      client,
      log,
      caches,
      events: { record: async (_o, type, reason) => void events.push(`${type} ${reason}`) },
      runtime,
      images: cache,
      resyncMs: 60_000,
      dataplane: {
        networkState: () => ({ ready: true, reason: "BridgeUp", message: "", bridge: "kbr-1", mtu: 1450 }),
        leases: async () => [],
        watchLeases: () => ({ next: async () => undefined, close: () => undefined }),
      },
      onStep: (_k, step) => void steps.push(step),
      net: {
        plug: async () => undefined,
        unplug: async (o) => void calls.push(`unplug ${o.portNetns}`),
        dhcp: async () => {
          throw new Error("no DHCP without networks");
        },
        hasAddress: async () => false,
        fileExists: async () => false,
      },
    });
    components = new ComponentManager(new Registry(), log);
    components.add(cachesComponent(caches));
    components.add(manager.controller);
    await components.start();
  });

  after(async () => {
    await components?.stop();
    await s?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("runs a bound instance to Running and writes the agent's conditions through /status", async () => {
    await bind("web");
    await until("web Running", async () => (await get("web")).status?.phase === "Running");
    const got = await get("web");
    for (const t of ["ImageReady", "NetworkReady", "Started", "AddressAssigned", "Running"]) assert.equal(cond(got, t)?.status, "True", t);
    assert.equal(got.status?.host, "h1");
    assert.ok(calls.includes(`ensure ${runtimeId(got)}`));
    assert.deepEqual(steps.sort(), ["AddressAssigned", "ImageReady", "NetworkReady", "Running", "Started"]);
    assert.ok(events.includes("Normal Running"));
    assert.ok(manager.controller.outcomes().requeue > 0, "a pass that changed something asks for another");
  });

  it("steady state: another event with nothing new starts no pass and writes nothing", async () => {
    await new Promise((r) => setTimeout(r, 200)); // our own writes come back through the informer once
    await manager.controller.whenIdle();
    const rv = (await get("web")).metadata.resourceVersion;
    const passes = manager.counters.passes;
    manager.enqueueAll();
    await manager.controller.whenIdle();
    assert.equal(manager.counters.passes, passes);
    assert.equal((await get("web")).metadata.resourceVersion, rv);
  });

  it("removes a runtime no instance claims, with its netns", async () => {
    runtimes.set("ghost-0badc0de", {
      id: "ghost-0badc0de",
      kind: "container",
      state: "running",
      pid: 1,
      startedAt: null,
      exitCode: null,
      restartCount: 0,
      timings: {},
    });
    manager.controller.add(SWEEP_KEY);
    await until("the orphan removed", () => !runtimes.has("ghost-0badc0de") && manager.counters.orphansRemoved === 1);
    assert.ok(calls.includes("remove ghost-0badc0de"));
    assert.ok(calls.includes("unplug h1test-i-0badc0de"));
  });

  it("a failing start backs off, with a Warning Event and Started=False", async () => {
    failEnsure = true;
    await bind("bad", { command: ["nope"] });
    await until("Started=False", async () => cond(await get("bad"), "Started")?.reason === "Error");
    const bad = await get("bad");
    const started = cond(bad, "Started");
    assert.deepEqual([started?.status, started?.reason], ["False", "Error"]);
    assert.match(started?.message ?? "", /executable file not found/);
    await until("the Warning", () => events.includes("Warning StartedFailed"));
    const ensures = calls.filter((c) => c.startsWith(`ensure ${runtimeId(bad)}`)).length;
    manager.enqueueAll(); // events (our own status write among them) do not cut the backoff short
    await manager.controller.whenIdle();
    assert.equal(calls.filter((c) => c.startsWith(`ensure ${runtimeId(bad)}`)).length, ensures, "no retry before the backoff ends");
    failEnsure = false;
    await until("retried after the backoff, Running", async () => (await get("bad")).status?.phase === "Running", 10_000);
  });

  it("an instance stuck in its image download holds up no other instance", async () => {
    await bind("stuck", { image: "stuck" });
    type Row = { key: string; worker?: unknown };
    const downloading = () => (manager.snapshot().instances as Row[]).some((i) => i.key === "default/stuck" && i.worker);
    await until("stuck downloading", downloading);
    await bind("quick");
    await until("quick Running while stuck still downloads", async () => (await get("quick")).status?.phase === "Running");
    assert.notEqual((await get("stuck")).status?.phase, "Running");
    await client.delete(InstanceKind, "default", "stuck"); // a newer wish interrupts the download
    await until("the stuck pass interrupted", () => !downloading());
  });
});
