/**
 * The cloud bench/instances runs against: `kumo up --hosts N` in a temp KUMO_HOME, the stock images
 * built and uploaded by scripts/images/upload-images.sh, an admin KumoClient, and watch helpers that
 * time when the client *observes* an instance reaching a state (what a user's `kumo get -w` sees).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { ApiError, HostKind, InstanceKind, type Host, type Instance, type InstanceSpec } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { labPrefix } from "@kumo/agent/lab/naming";
import { createNodeFetch } from "@kumo/runtime";
import { teardownCloud } from "./instances-teardown.js";

/** Repository root (bench/dist/.. /..). */
export const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const KUMO = join(REPO, "bin/kumo");
/** Namespace every bench instance lives in. */
export const NS = "default";

/** A running cloud-in-a-box and how to end it. */
export interface Cloud {
  home: string;
  env: NodeJS.ProcessEnv;
  client: KumoClient;
  /** Host names, sorted; hosts[i] carries label bench-slot=s<i>. */
  hosts: string[];
  /** Netns/name prefix of this cloud's hosts (e.g. k23a472). */
  prefix: string;
  /** Deletes its instances, `kumo down --purge`, sweeps and reports what was left behind. */
  down(): Promise<string[]>;
}

function kumo(env: NodeJS.ProcessEnv, args: string[], timeout = 300_000): string {
  const r = spawnSync(KUMO, args, { env, encoding: "utf8", timeout });
  if (r.status !== 0) throw new Error(`kumo ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Polls pred every everyMs until true; false on timeout. */
export async function poll(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pred()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

type Fetch = ReturnType<typeof createNodeFetch>;

/**
 * Adds Content-Length to requests with a body. createNodeFetch leaves it out, and node:https does not
 * chunk DELETE bodies, so a DELETE's options would reach the server as garbage after the request (400).
 */
function withContentLength(f: Fetch): Fetch {
  return (input, init = {}) => {
    if (typeof init.body !== "string") return f(input, init);
    const headers = Object.fromEntries(new Headers(init.headers));
    return f(input, { ...init, headers: { ...headers, "content-length": String(Buffer.byteLength(init.body)) } });
  };
}

/** Starts the cloud; on any failure what was started is torn down before the error propagates. */
export async function startCloud(hostCount: number, log: (s: string) => void): Promise<Cloud> {
  const home = await mkdtemp(join(tmpdir(), "kumo-bench-instances-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = { ...process.env, KUMO_HOME: home, KUMO_CONFIG: join(home, "config"), KUMO_LOG_LEVEL: "warn" };
  const prefix = labPrefix(home);
  let client: KumoClient | undefined;
  const down = () => teardownCloud({ kumo: KUMO, env, home, prefix, ns: NS, client, deleteAndWait });
  try {
    let t = performance.now();
    kumo(env, ["up", "--hosts", String(hostCount), "--listen", `127.0.0.1:${port}`]);
    log(`kumo up --hosts ${hostCount}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    const up = spawnSync(join(REPO, "scripts/images/upload-images.sh"), { env, encoding: "utf8", timeout: 300_000 });
    if (up.status !== 0) throw new Error(`upload-images.sh failed: ${up.stderr}${up.stdout}`);
    log(`images built and uploaded: ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const kc = await readFile(join(home, "admin.kubeconfig"), "utf8");
    const ca = Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], "base64").toString();
    const token = (await readFile(join(home, "admin.token"), "utf8")).trim();
    client = new KumoClient({
      server: `https://127.0.0.1:${port}`,
      token,
      fetch: withContentLength(createNodeFetch({ caPem: ca })),
      fieldManager: "bench",
    });
    let hosts: string[] = [];
    const c = client;
    const ready = await poll(
      async () => {
        const items = (await c.listAll<Host>(HostKind)).items;
        hosts = items.map((h) => h.metadata.name!).sort();
        return (
          items.length === hostCount && items.every((h) => h.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
        );
      },
      60_000,
      200,
    );
    if (!ready) throw new Error(`${hostCount} hosts did not become Ready`);
    for (const [i, h] of hosts.entries())
      await c.patch(HostKind, undefined, h, "merge", { metadata: { labels: { "bench-slot": `s${i}` } } });
    return { home, env, client: c, hosts, prefix, down };
  } catch (e) {
    const left = await down();
    if (left.length) log(`cleanup after failure: ${left.join("; ")}`);
    throw e;
  }
}

/** An Instance manifest in NS. */
export function instanceManifest(name: string, spec: InstanceSpec, labels?: Record<string, string>): Instance {
  return { apiVersion: "compute.kumo.dev/v1", kind: "Instance", metadata: { name, namespace: NS, labels }, spec };
}

/** The collection's current resourceVersion: a watch from it misses nothing created afterwards. */
export async function collectionVersion(client: KumoClient): Promise<string> {
  return (await client.list(InstanceKind, NS, { limit: 1 })).metadata.resourceVersion!;
}

/** True when condition `type` of the instance is True. */
export function condTrue(o: Instance, type: string): boolean {
  return !!o.status?.conditions?.some((c) => c.type === type && c.status === "True");
}

/** Milliseconds (wall clock) at which condition `type` last turned True, or NaN. */
export function condAt(o: Instance, type: string): number {
  const c = o.status?.conditions?.find((x) => x.type === type && x.status === "True");
  return c?.lastTransitionTime ? Date.parse(c.lastTransitionTime) : NaN;
}

/** What a watch saw: the object and performance.now() when the matching event arrived. */
export interface Seen {
  obj: Instance;
  at: number;
}

/**
 * Opens a watch (from `rv`) on the instances matching `selector` and calls `onEvent` with each
 * object and its arrival time. Resolves once the HTTP request is sent; `stop()` ends it.
 */
export function watchInstances(
  client: KumoClient,
  rv: string,
  selector: { fieldSelector?: string; labelSelector?: string },
  onEvent: (type: string, obj: Instance, at: number) => void,
): { stop(): void; ended: Promise<void> } {
  const ac = new AbortController();
  const it = client.watch<Instance>(InstanceKind, NS, { ...selector, resourceVersion: rv, signal: ac.signal });
  const ended = (async () => {
    for await (const ev of it) if (ev.type !== "BOOKMARK") onEvent(ev.type, ev.object, performance.now());
  })();
  return { stop: () => ac.abort(), ended };
}

/** Resolves with the first watch event on instance `name` (from `rv`) whose object satisfies pred. */
export function watchUntil(client: KumoClient, name: string, rv: string, pred: (o: Instance) => boolean, timeoutMs: number): Promise<Seen> {
  return new Promise<Seen>((resolvePromise, reject) => {
    let done = false;
    const w = watchInstances(client, rv, { fieldSelector: `metadata.name=${name}` }, (type, obj, at) => {
      if (done) return;
      if (pred(obj)) finish(() => resolvePromise({ obj, at }));
      else if (obj.status?.phase === "Failed") finish(() => reject(new Error(`${name} Failed: ${obj.status?.message ?? ""}`)));
      else if (type === "DELETED") finish(() => reject(new Error(`${name} was deleted`)));
    });
    const timer = setTimeout(() => finish(() => reject(new Error(`${name}: not reached within ${timeoutMs} ms`))), timeoutMs);
    function finish(f: () => void): void {
      done = true;
      clearTimeout(timer);
      w.stop();
      f();
    }
    w.ended.then(
      () => {
        if (!done) finish(() => reject(new Error(`watch on ${name} ended early`)));
      },
      (e: unknown) => {
        if (!done) finish(() => reject(e));
      },
    );
  });
}

/** Deletes instances and waits until they are gone (finalizers done: host capacity, ports released). */
export async function deleteAndWait(client: KumoClient, names: string[], timeoutMs = 60_000): Promise<void> {
  await Promise.all(
    names.map((n) =>
      client.delete(InstanceKind, NS, n).catch((e: unknown) => {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }),
    ),
  );
  const gone = await poll(
    async () => {
      const left = new Set((await client.listAll<Instance>(InstanceKind, NS)).items.map((i) => i.metadata.name));
      return names.every((n) => !left.has(n));
    },
    timeoutMs,
    100,
  );
  if (!gone) throw new Error(`instances not gone ${timeoutMs} ms after delete: ${names.join(", ")}`);
}
