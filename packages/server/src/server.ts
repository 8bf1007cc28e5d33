/**
 * `kumo server`: opens the store, bootstraps identity and TLS, starts caches and controllers, and serves
 * the API over HTTPS. Everything it starts is stopped by `close()`.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { type KindRegistry, defaultRegistry } from "@kumo/api";
import { stringify as toYaml } from "yaml";
import { createApp } from "./apiserver/app.js";
import { Admission } from "./apiserver/admission.js";
import type { ApiDeps } from "./apiserver/deps.js";
import { agentProxyToken, bootstrap } from "./auth/bootstrap.js";
import { IamCache, type UserInfo } from "./auth/iam-cache.js";
import { BlobStore } from "./controllers/compute/blob-store.js";
import { resyncAllocations } from "./controllers/compute/host-allocation.js";
import { ImageBlobCollector } from "./controllers/compute/image-gc.js";
import { InstanceController } from "./controllers/compute/instance-controller.js";
import { Scheduler, SCHEDULER_CTX } from "./controllers/compute/scheduler.js";
import { SCHEDULE_POLICIES, type SchedulePolicy } from "./controllers/compute/score.js";
import { EventRecorder } from "./controllers/events.js";
import { GarbageCollector } from "./controllers/gc.js";
import { HostLifecycleController } from "./controllers/host-lifecycle.js";
import { Allocator } from "./controllers/ipam/allocator.js";
import { NetworkAdmission } from "./controllers/ipam/network-admission.js";
import { AllocationReleaser } from "./controllers/ipam/releaser.js";
import { NamespaceController } from "./controllers/namespace.js";
import { AuditLog } from "./observability/audit.js";
import { createLogger } from "./observability/logger.js";
import { ServerMetrics } from "./observability/metrics.js";
import { ensurePki } from "./pki.js";
import { formatPath } from "./registry/field-paths.js";
import { HistoryRecorder } from "./registry/history.js";
import { ObjectStore } from "./registry/store.js";
import { WatchCache } from "./registry/watch-cache.js";
import { openBackend } from "./storage/registry.js";

/**
 * Node 20's HTTP server lets its C++ parser read a TLS connection directly, and pauses that parser when
 * a request arrives before the previous response drained (any response over 16 KiB). TLS still hands
 * the paused parser the bytes it already decrypted: "HPE_PAUSED", and the connection is cut in the
 * middle of the request body (seen ~1 in 7 runs: a PUT of a 2,000-annotation Host right after reading
 * it). A 'data' listener makes Node parse in JavaScript, where pausing the socket stops the bytes.
 */
function parseInJavaScript(socket: TLSSocket): void {
  socket.on("data", () => undefined);
}

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

/** Starts a server; resolves once it is listening and ready. */
export async function runServer(opts: ServerOptions): Promise<RunningServer> {
  const log = createLogger("server");
  const dataDir = resolve(opts.dataDir);
  await mkdir(dataDir, { recursive: true });
  const metrics = new ServerMetrics();
  const kinds = opts.kinds ?? defaultRegistry();
  const backend = await openBackend(opts.datastore ?? `sqlite://${join(dataDir, "kumo.db")}`, { observer: metrics.backendObserver() });
  const history = new HistoryRecorder(backend);
  const store = new ObjectStore(backend, kinds, history);
  store.onConflict = (kind, manager, cause) => metrics.conflicts.labels(manager, kind.plural, cause).inc();
  const events = new EventRecorder(store, "kumo-server", log);
  store.onWrite = ({ kind, obj, ctx, overridden }) => {
    for (const o of overridden) {
      metrics.forcedOverrides.labels(o.manager, kind.plural).inc();
      const fields = o.paths.map(formatPath).join(", ");
      void events.record(obj, "Warning", "FieldsOverridden", `${ctx.manager} (user ${ctx.user}) removed fields owned by ${o.manager} with force=true: ${fields}`);
      log.warn({ kind: kind.kind, name: obj.metadata.name, manager: ctx.manager, user: ctx.user, lostBy: o.manager, fields }, "forced write removed another manager's fields");
    }
  };
  const cache = new WatchCache(backend, kinds);
  await cache.start();
  const adminToken = await bootstrap(store, dataDir);
  const iam = new IamCache(store, cache);
  await iam.start();
  const gc = new GarbageCollector(store, kinds, log);
  gc.start();
  const nsController = new NamespaceController(store, kinds, cache, log);
  await nsController.start();
  const debugState = new Map<string, () => unknown>();
  debugState.set("namespaceController", () => nsController.snapshot());
  debugState.set("events", () => ({ recordedTotal: events.recordedTotal }));
  metrics.counterFrom("kumo_events_recorded_total", "Events the server recorded", () => events.recordedTotal);
  metrics.counterFrom("kumo_namespaces_finalized_total", "Deleted namespaces the namespace controller emptied and removed", () => nsController.finalizedTotal);
  metrics.counterFrom("kumo_gc_deleted_total", "Dependents the garbage collector deleted", () => gc.deletedTotal);
  metrics.counterFrom("kumo_gc_orphaned_total", "Dependents the garbage collector detached (Orphan)", () => gc.orphanedTotal);
  const audit = opts.audit === false ? undefined : new AuditLog(join(dataDir, "audit.log"));
  const hostLifecycle = new HostLifecycleController(store, cache, events, log, metrics.registry, opts.heartbeatGraceMs ?? 10_000);
  await hostLifecycle.start();
  debugState.set("hostLifecycle", () => hostLifecycle.snapshot());
  const allocator = new Allocator(backend);
  const releaser = new AllocationReleaser(store, cache, allocator, log);
  await releaser.start();
  debugState.set("allocator", () => ({ claimsTotal: allocator.claimsTotal, releasesTotal: allocator.releasesTotal, exhaustedTotal: allocator.exhaustedTotal, sweptTotal: releaser.sweptTotal }));
  metrics.counterFrom("kumo_ipam_claims_total", "VNI/MAC/IP allocations claimed", () => allocator.claimsTotal);
  metrics.counterFrom("kumo_ipam_releases_total", "VNI/MAC/IP allocations released", () => allocator.releasesTotal);
  metrics.counterFrom("kumo_ipam_exhausted_total", "Allocations refused because the pool was full", () => allocator.exhaustedTotal);
  metrics.counterFrom("kumo_ipam_swept_total", "Allocations freed by the sweep (owner gone)", () => releaser.sweptTotal);
  const admission = new Admission(store, new NetworkAdmission(store, allocator));
  if (opts.schedulePolicy && !SCHEDULE_POLICIES.includes(opts.schedulePolicy)) throw new Error(`--schedule-policy must be one of ${SCHEDULE_POLICIES.join(", ")}, not "${opts.schedulePolicy}"`);
  const blobs = new BlobStore(dataDir, opts.maxBlobBytes);
  await blobs.init();
  const imageGc = new ImageBlobCollector(store, cache, blobs, log, metrics.registry);
  await imageGc.start();
  debugState.set("imageBlobs", () => imageGc.snapshot());
  // Before any scheduler runs (no reservation may be in flight): give back capacity a crash leaked.
  const repairs = await resyncAllocations(store, SCHEDULER_CTX, log);
  const instanceController = new InstanceController(store, cache, admission, new EventRecorder(store, "kumo-instance-controller", log), log, metrics.registry);
  await instanceController.start();
  debugState.set("instanceController", () => instanceController.snapshot());
  const scheduler = opts.scheduler === false ? undefined : new Scheduler(store, cache, new EventRecorder(store, "kumo-scheduler", log), log, metrics.registry, { policy: opts.schedulePolicy });
  await scheduler?.start();
  debugState.set("scheduler", () => ({ ...(scheduler?.snapshot() ?? { enabled: false }), allocationRepairsAtStart: repairs }));
  const deps: ApiDeps = { kinds, store, cache, history, iam, admission, gc, metrics, audit, log, debugState, webRoot: findWebRoot(), agentProxyToken: await agentProxyToken(dataDir) };
  let ready = false;
  const app = createApp(deps, () => ready, { blobs });

  const { host, port } = parseListen(opts.listen ?? "127.0.0.1:6443");
  const extra = (opts.extraListen ?? []).map(parseListen);
  const pki = await ensurePki(join(dataDir, "pki"), [host, ...extra.map((e) => e.host)]);
  const listenOn = (h: string, p: number): Promise<ServerType> =>
    new Promise((res, rej) => {
      const s = serve({ fetch: app.fetch, hostname: h, port: p, createServer: createHttpsServer, serverOptions: { key: pki.key, cert: pki.cert } }, () => res(s));
      s.once("error", (e) => rej(new Error(`cannot listen on ${h}:${p}: ${e.message}`)));
    });
  const server = await listenOn(host, port);
  const servers = [server];
  const actualPort = (server.address() as AddressInfo).port;
  for (const e of extra) servers.push(await listenOn(e.host, e.port || actualPort));
  for (const s of servers) {
    s.on("secureConnection", parseInJavaScript);
    // Watches stay open for a long time; Node's default request/headers timeouts would cut them.
    const srv = s as unknown as { requestTimeout: number; headersTimeout: number; keepAliveTimeout: number };
    srv.requestTimeout = 0;
    srv.keepAliveTimeout = 65_000;
  }
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `https://${urlHost}:${actualPort}`;
  const kubeconfigPath = join(dataDir, "admin.kubeconfig");
  await writeKubeconfig(kubeconfigPath, url, pki.caCert, adminToken);

  const compactEvery = opts.compactIntervalMs ?? 5 * 60_000;
  let lastRevision = await backend.currentRevision();
  const compactor = setInterval(async () => {
    // Keep one interval of history: watchers more than one interval behind re-list (410), as in Kubernetes.
    try {
      const target = lastRevision;
      lastRevision = await backend.currentRevision();
      if (target > 0) {
        await backend.compact(target);
        cache.compacted(target);
      }
    } catch (e) {
      log.warn({ err: String(e) }, "compaction failed");
    }
  }, compactEvery);
  compactor.unref();

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
      clearInterval(compactor);
      await scheduler?.stop();
      await instanceController.stop();
      imageGc.stop();
      gc.stop();
      releaser.stop();
      hostLifecycle.stop();
      cache.stop();
      await Promise.all(servers.map((srv) => new Promise<void>((res) => {
        srv.close(() => res());
        (srv as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      })));
      await audit?.close();
      await backend.close();
      log.info({}, "kumo server stopped");
    },
  };
}
