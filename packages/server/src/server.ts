/**
 * `kumo server`: opens the store, bootstraps identity and TLS, and starts the watch cache, the IAM cache,
 * the audit log, every control loop and the HTTPS listeners as components of one ComponentManager, in that
 * order. `close()` stops them in reverse; a start that fails part-way (a port in use) stops what already
 * started, so no watch, timer, listener or open database is left behind. /debug/state is the manager's list.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type KindRegistry, defaultRegistry } from "@kumo/api";
import { ComponentManager, component } from "@kumo/runtime";
import { stringify as toYaml } from "yaml";
import { createApp } from "./apiserver/app.js";
import { Admission } from "./apiserver/admission.js";
import type { ApiDeps } from "./apiserver/deps.js";
import { type HttpsListener, httpsListener } from "./apiserver/listener.js";
import { agentProxyToken, bootstrap } from "./auth/bootstrap.js";
import { IamCache, type UserInfo } from "./auth/iam-cache.js";
import { tokenAdmission } from "./auth/token-admission.js";
import { Compactor } from "./controllers/compaction.js";
import { resyncAllocations } from "./controllers/compute/host-allocation.js";
import { ImageBlobCollector } from "./controllers/compute/image-gc.js";
import { InstanceController } from "./controllers/compute/instance-controller.js";
import { Scheduler, SCHEDULER_CTX } from "./controllers/compute/scheduler.js";
import { SCHEDULE_POLICIES, type SchedulePolicy } from "./controllers/compute/score.js";
import { GarbageCollector } from "./controllers/gc.js";
import { HostLifecycleController } from "./controllers/host-lifecycle.js";
import { Allocator } from "./controllers/ipam/allocator.js";
import { NetworkAdmission } from "./controllers/ipam/network-admission.js";
import { AllocationReleaser } from "./controllers/ipam/releaser.js";
import { NamespaceController, namespaceAdmission } from "./controllers/namespace.js";
import { BlobStore } from "./images/blob-store.js";
import { AuditLog } from "./observability/audit.js";
import { EventRecorder } from "./observability/events.js";
import { type Logger, createLogger } from "./observability/logger.js";
import { ServerMetrics } from "./observability/metrics.js";
import { ensurePki } from "./pki.js";
import { formatPath } from "./registry/field-paths.js";
import { HistoryRecorder } from "./registry/history.js";
import { ObjectStore } from "./registry/store.js";
import { WatchCache } from "./registry/watch-cache.js";
import type { Backend } from "./storage/backend.js";
import { openBackend } from "./storage/registry.js";

/** Options of `kumo server`. */
export interface ServerOptions {
  dataDir: string;
  /** Store URL; default `sqlite://<dataDir>/kumo.db`. */
  datastore?: string;
  /** host:port; default 127.0.0.1:6443 (port 0 picks a free one). The kubeconfig points here. */
  listen?: string;
  /** More host:port addresses to serve the same API on (e.g. the lab's underlay bridge, for agents in namespaces). */
  extraListen?: string[];
  /** Kinds to serve (default: the built-in registry). */
  kinds?: KindRegistry;
  /** How often the store's history is compacted, and how much is kept (default 5 min). */
  compactIntervalMs?: number;
  /** A host whose agent has not beaten for this long is NotReady (default 10 s). */
  heartbeatGraceMs?: number;
  /** Write the audit log (default true). */
  audit?: boolean;
  /** Placement policy of the scheduler (`--schedule-policy`): spread (default) or pack. */
  schedulePolicy?: SchedulePolicy;
  /** Run the built-in scheduler (default true; tests that drive their own Scheduler objects turn it off). */
  scheduler?: boolean;
  /** Largest image blob accepted, in bytes (default 16 GiB). */
  maxBlobBytes?: number;
}

/** A running server. */
export interface RunningServer {
  url: string;
  kubeconfigPath: string;
  adminToken: string;
  caCert: string;
  deps: ApiDeps;
  /** Calls the API in-process as `user` (controllers use this: same validation, no network). */
  fetchAs(user: UserInfo): (input: string | URL | Request, init?: RequestInit) => Promise<Response>;
  close(): Promise<void>;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = listen.match(/^\[?([^\]]*?)\]?:(\d+)$/);
  if (!m) throw new Error(`--listen must be HOST:PORT (e.g. 127.0.0.1:6443), not "${listen}"`);
  return { host: m[1] || "0.0.0.0", port: Number(m[2]) };
}

/** Where the built dashboard lives, if it was built. */
function findWebRoot(): string | undefined {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = resolve(here, "../../web/dist/app");
  return existsSync(join(dir, "index.html")) ? dir : undefined;
}

/** Writes a kubeconfig for `server` with the CA inlined. */
export async function writeKubeconfig(path: string, server: string, caPem: string, token: string, name = "kumo"): Promise<void> {
  const cfg = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: `${name}-admin`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin`, namespace: "default" } }],
    "current-context": name,
    preferences: {},
  };
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, toYaml(cfg), { mode: 0o600 });
}

/** Starts a server; resolves once it is listening and ready, rejects (leaving nothing running) if it cannot. */
export async function runServer(opts: ServerOptions): Promise<RunningServer> {
  if (opts.schedulePolicy && !SCHEDULE_POLICIES.includes(opts.schedulePolicy)) {
    throw new Error(`--schedule-policy must be one of ${SCHEDULE_POLICIES.join(", ")}, not "${opts.schedulePolicy}"`);
  }
  const log = createLogger("server");
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const metrics = new ServerMetrics();
  const manager = new ComponentManager(metrics.registry, log);
  try {
    return await startParts(opts, dataDir, manager, metrics, log);
  } catch (e) {
    await manager.stop();
    throw e;
  }
}

async function startParts(
  opts: ServerOptions,
  dataDir: string,
  manager: ComponentManager,
  metrics: ServerMetrics,
  log: Logger,
): Promise<RunningServer> {
  // The store first, on its own: everything else is built on the open backend.
  let opened: Backend | undefined;
  const storeUrl = opts.datastore ?? `sqlite://${join(dataDir, "kumo.db")}`;
  manager.add(
    component("store", {
      start: async () => void (opened = await openBackend(storeUrl, { observer: metrics.backendObserver() })),
      stop: async () => opened?.close(),
    }),
  );
  await manager.start();
  const backend = opened!;
  const kinds = opts.kinds ?? defaultRegistry();
  const history = new HistoryRecorder(backend);
  const store = new ObjectStore(backend, kinds, history);
  store.onConflict = (kind, manager, cause) => metrics.conflicts.labels(manager, kind.plural, cause).inc();
  const events = new EventRecorder(store, "kumo-server", log);
  store.onWrite = ({ kind, obj, ctx, overridden }) => {
    for (const o of overridden) {
      metrics.forcedOverrides.labels(o.manager, kind.plural).inc();
      const fields = o.paths.map(formatPath).join(", ");
      const message = `${ctx.manager} (user ${ctx.user}) removed fields owned by ${o.manager} with force=true: ${fields}`;
      // record() logs its own failures and never rejects: the write runs on behind the one that caused it.
      events.record(obj, "Warning", "FieldsOverridden", message).catch(() => undefined);
      const who = { manager: ctx.manager, user: ctx.user, lostBy: o.manager };
      log.warn({ kind: kind.kind, name: obj.metadata.name, ...who, fields }, "forced write removed another manager's fields");
    }
  };
  // One-shot steps that need only the store (nothing of theirs runs on).
  const adminToken = await bootstrap(store, dataDir);
  const proxyToken = await agentProxyToken(dataDir);
  // Before any scheduler runs (no reservation may be in flight): give back capacity a crash leaked.
  const repairs = await resyncAllocations(store, SCHEDULER_CTX, log);
  const blobs = new BlobStore(dataDir, opts.maxBlobBytes);
  await blobs.init();
  const { host, port } = parseListen(opts.listen ?? "127.0.0.1:6443");
  const extra = (opts.extraListen ?? []).map(parseListen);
  const pki = await ensurePki(join(dataDir, "pki"), [host, ...extra.map((e) => e.host)]);

  const cache = new WatchCache(backend, kinds);
  manager.add(component("watchCache", { start: () => cache.start(), stop: async () => cache.stop(), snapshot: () => cache.snapshot() }));
  const iam = manager.add(new IamCache(store, cache));
  let audit: AuditLog | undefined;
  manager.add(
    component("audit", {
      start: async () => void (audit = opts.audit === false ? undefined : new AuditLog(join(dataDir, "audit.log"))),
      stop: async () => audit?.close(),
      snapshot: () => ({ path: audit?.path, written: audit?.written }),
    }),
  );

  const allocator = new Allocator(backend);
  const admission = new Admission(store);
  admission.register(namespaceAdmission());
  admission.register(new NetworkAdmission(store, allocator));
  admission.register(tokenAdmission(store));
  const ns = new NamespaceController(store, kinds, cache, log);
  const gc = new GarbageCollector(store, kinds, cache, log);
  const releaser = new AllocationReleaser(store, cache, allocator, log);
  const imageGc = new ImageBlobCollector(store, cache, blobs, log, metrics.registry);
  const hosts = new HostLifecycleController(store, cache, events, log, metrics.registry, opts.heartbeatGraceMs ?? 10_000);
  const instances = new InstanceController(store, cache, admission, new EventRecorder(store, "kumo-instance-controller", log), log);
  for (const loop of [ns.loop, gc.loop, releaser.loop, imageGc.loop, hosts.loop, instances.loop]) manager.add(loop);
  const schedulerEvents = new EventRecorder(store, "kumo-scheduler", log);
  const scheduler =
    opts.scheduler === false
      ? undefined
      : new Scheduler(store, cache, schedulerEvents, log, metrics.registry, { policy: opts.schedulePolicy });
  manager.add(
    component("scheduler", {
      register: (registry) => scheduler?.loop.register(registry),
      start: async (signal) => scheduler?.start(signal),
      stop: async () => scheduler?.stop(),
      snapshot: () => ({ ...(scheduler?.snapshot() ?? { enabled: false }), allocationRepairsAtStart: repairs }),
    }),
  );
  manager.add(new Compactor(backend, cache, log, opts.compactIntervalMs ?? 5 * 60_000, await backend.currentRevision()).loop);
  counters(metrics, { events, ns, gc, allocator, releaser });

  let ready = false;
  const debugState = async () => ({
    ...manager.snapshot(),
    store: { kind: backend.kind, ...(await backend.stats()) },
    events: { recordedTotal: events.recordedTotal },
    agentProxy: metrics.agentProxyRequests,
    admission: admission.snapshot(),
    components: manager.lifecycle(),
  });
  const deps: ApiDeps = {
    kinds,
    store,
    cache,
    history,
    iam,
    admission,
    metrics,
    log,
    debugState,
    webRoot: findWebRoot(),
    agentProxyToken: proxyToken,
    get audit() {
      return audit;
    },
  };
  const app = createApp(deps, () => ready, { blobs });
  const tls = () => ({ key: pki.key, cert: pki.cert });
  const first: HttpsListener = manager.add(httpsListener("listener", { fetch: app.fetch, host, port: () => port, tls }));
  extra.forEach((e, i) => {
    manager.add(httpsListener(`listener-${i + 2}`, { fetch: app.fetch, host: e.host, port: () => e.port || first.port, tls }));
  });
  await manager.start();

  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${first.port}`;
  const kubeconfigPath = join(dataDir, "admin.kubeconfig");
  await writeKubeconfig(kubeconfigPath, url, pki.caCert, adminToken);
  ready = true;
  log.info({ url, dataDir, datastore: backend.kind, kubeconfig: kubeconfigPath }, "kumo server listening");

  return {
    url,
    kubeconfigPath,
    adminToken,
    caCert: pki.caCert,
    deps,
    fetchAs: (user) => (input, init) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), url), init);
      return Promise.resolve(app.fetch(req, { internalUser: user }));
    },
    close: async () => {
      ready = false;
      await manager.stop();
      log.info({}, "kumo server stopped");
    },
  };
}

/** Counters the server's parts keep for /debug/state, exposed on /metrics too (read at scrape time). */
function counters(
  metrics: ServerMetrics,
  p: { events: EventRecorder; ns: NamespaceController; gc: GarbageCollector; allocator: Allocator; releaser: AllocationReleaser },
): void {
  metrics.counterFrom("kumo_events_recorded_total", "Events the server recorded", () => p.events.recordedTotal);
  metrics.counterFrom("kumo_namespaces_finalized_total", "Deleted namespaces the namespace loop emptied", () => p.ns.finalizedTotal);
  metrics.counterFrom("kumo_gc_deleted_total", "Dependents the garbage collector deleted", () => p.gc.deletedTotal);
  metrics.counterFrom("kumo_gc_orphaned_total", "Dependents the garbage collector detached (Orphan)", () => p.gc.orphanedTotal);
  metrics.counterFrom("kumo_ipam_claims_total", "VNI/MAC/IP allocations claimed", () => p.allocator.claimsTotal);
  metrics.counterFrom("kumo_ipam_releases_total", "VNI/MAC/IP allocations released", () => p.allocator.releasesTotal);
  metrics.counterFrom("kumo_ipam_exhausted_total", "Allocations refused because the pool was full", () => p.allocator.exhaustedTotal);
  metrics.counterFrom("kumo_ipam_swept_total", "Allocations freed by the sweep (owner gone)", () => p.releaser.sweptTotal);
}
