/**
 * The `instances` loop: one key per Instance whose status.host is this agent (`namespace/name`), plus one
 * sweep key. A reconcile runs one level-triggered pass over its instance (instance-flow.ts); many run at
 * once, so a VM waiting for its guest's lease or an image download never holds up another instance (and the
 * lease wait gives its worker back every second: requeue-after). A failing pass is reported as a False
 * condition plus an Event and retried with the runtime's backoff, which events (our own status write, the
 * resync) do not cut short. The sweep lists the runtimes (adopting what a previous agent left running:
 * nothing is ever killed on restart) and removes the runtimes and netns no instance claims.
 */
import { readdir } from "node:fs/promises";
import { type Image, type Instance, InstanceKind, type Network, type Port, stepTimeline } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import {
  Controller,
  type Logger,
  type ReconcileContext,
  type ReconcileResult,
  type Source,
  informerSource,
  periodicSource,
  resyncSource,
} from "@kumo/runtime";
import type { HostRuntimeDriver, InstanceRuntimeStatus } from "../runtime/types.js";
import type { AgentEvents } from "./events.js";
import type { ImageCache } from "./image-cache.js";
import type { AgentCaches } from "./informers.js";
import { type InstanceDataplane, type NetOps, linuxNetOps } from "./instance-env.js";
import { type FlowDeps, type PassHints, StepError, instancePass, removeRuntime } from "./instance-flow.js";
import { hashOfRuntimeId, instanceNetns, interruptKey, runtimeId, uidHash } from "./instance-spec.js";
import { StatusReport, applyReport, newlyDone } from "./instance-status.js";

/** What the instance flow reads from the informers. */
export interface InstanceView {
  instances: Instance[];
  images: Image[];
  ports: Port[];
  networks: Network[];
}

/** The image cache as the instance loop uses it (ImageCache; fakes in tests). */
export type ImageStore = Pick<ImageCache, "has" | "ensure" | "stats" | "snapshotSync">;

/** Options of an InstanceManager. */
export interface InstanceManagerOptions {
  self: string;
  netnsPrefix: string;
  stateDir: string;
  client: KumoClient;
  events: Pick<AgentEvents, "record">;
  log: Logger;
  runtime: HostRuntimeDriver;
  images: ImageStore;
  dataplane: InstanceDataplane;
  caches: Pick<AgentCaches, "instances" | "images" | "ports" | "networks">;
  /** Called with each step's latency when it turns True (metrics). */
  onStep?: (kind: string, step: string, ms: number) => void;
  net?: NetOps;
  leaseWaitMs?: number;
  /** Instance passes at once (default 64: a host's capacity is ~110 instances, and a burst of starts waits mostly on I/O). */
  workers?: number;
  /** Every instance is looked at, and the runtimes listed, this often (default 5 s). */
  resyncMs?: number;
}

/** The sweep's key: not `namespace/name`, so no instance can have it. */
export const SWEEP_KEY = "@runtimes";
/** Re-check period of an instance nothing changed about (finds dead runtimes, reboot due). */
const RECHECK_MS = 4000;
/** One pass waits this long for a VM's lease, then gives its worker back and is queued again. */
const LEASE_SLICE_MS = 1000;

const key = (i: Instance) => `${i.metadata.namespace}/${i.metadata.name}`;
const isAbort = (e: unknown) => (e as Error)?.name === "AbortError";

/** Keeps this host's instances running as their specs say. */
export class InstanceManager {
  readonly counters = { passes: 0, changes: 0, failures: 0, orphansRemoved: 0, netnsSwept: 0, adopted: 0 };
  readonly controller: Controller;
  private readonly written = new Map<string, Instance>();
  private runtimes = new Map<string, InstanceRuntimeStatus>();
  private readonly removing = new Set<string>();
  private readonly deps: FlowDeps;
  private readonly running = new Map<string, { abort: AbortController; interrupt: string; since: number }>();
  private readonly lastPass = new Map<string, { fp: string; at: number; again: boolean }>();

  constructor(private readonly o: InstanceManagerOptions) {
    this.deps = {
      self: o.self,
      netnsPrefix: o.netnsPrefix,
      stateDir: o.stateDir,
      images: o.images,
      // Runtime calls keep the state cache current between the sweep's list() calls.
      runtime: {
        ensure: async (spec) => this.remember(await o.runtime.ensure(spec)),
        stop: async (id) => {
          await o.runtime.stop(id);
          const cur = this.runtimes.get(id);
          if (cur) this.runtimes.set(id, { ...cur, state: "stopped", pid: null });
        },
        remove: async (id) => {
          await o.runtime.remove(id);
          this.runtimes.delete(id);
        },
      },
      dataplane: o.dataplane,
      net: o.net ?? linuxNetOps,
      view: () => this.view(),
      runtimeState: (id) => this.runtimes.get(id),
      write: (inst, r) => this.write(inst, r),
      // Not awaited: a step's event must not delay the step. record() counts its own failures.
      event: (inst, type, reason, message) => {
        o.events.record(inst, type, reason, message).catch((e) => o.log.warn({ err: (e as Error).message, reason }, "event not recorded"));
      },
      addressed: new Map(),
      leaseWaitMs: o.leaseWaitMs ?? 180_000,
      leasePollMs: 250,
      leaseSliceMs: LEASE_SLICE_MS,
    };
    const resyncMs = o.resyncMs ?? 5000;
    // Before the first pass: adopt what is running, so a pass never restarts or reboots by mistake.
    const adopt: Source = {
      name: "runtimes",
      start: () => this.listRuntimes().catch((e) => o.log.warn({ err: (e as Error).message }, "listing runtimes failed")),
    };
    this.controller = new Controller({
      name: "instances",
      log: o.log,
      workers: o.workers ?? 64,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      backoffHoldsEvents: true,
      sources: [
        adopt,
        periodicSource("sweep", resyncMs, SWEEP_KEY, { atStart: false }),
        informerSource("instances", o.caches.instances, (i, ev, old) => this.keysOf(i, ev, old)),
        informerSource("images", o.caches.images, (img) =>
          this.mine()
            .filter((i) => i.spec!.image === img.metadata.name)
            .map(key),
        ),
        resyncSource("resync", resyncMs, () => this.localKeys()),
      ],
      reconciler: (ctx, k) => (k === SWEEP_KEY ? this.listRuntimes() : this.reconcile(ctx, k)),
    });
  }

  /** Queues every local instance (the network or DHCP of this host changed: instances waiting on it look again). */
  enqueueAll(): void {
    for (const k of this.localKeys()) this.controller.add(k);
  }

  private mine(): Instance[] {
    return this.o.caches.instances.list().filter((i) => i.status?.host === this.o.self);
  }

  private localKeys(): string[] {
    return this.mine().map(key);
  }

  private view(): InstanceView {
    const c = this.o.caches;
    return { instances: c.instances.list(), images: c.images.list(), ports: c.ports.list(), networks: c.networks.list() };
  }

  // A newer wish (delete, stop, reboot) interrupts the pass in flight (a lease wait, a download).
  private keysOf(i: Instance, ev: "add" | "update" | "delete", old?: Instance): string | undefined {
    if (i.status?.host !== this.o.self && old?.status?.host !== this.o.self) return undefined;
    const k = key(i);
    const r = this.running.get(k);
    const now = ev === "delete" || i.status?.host !== this.o.self ? undefined : i;
    if (r && interruptKey(now) !== r.interrupt) r.abort.abort();
    return k;
  }

  private async reconcile(ctx: ReconcileContext, k: string): Promise<ReconcileResult> {
    const inst = this.o.caches.instances.get(k);
    if (!inst || inst.status?.host !== this.o.self) {
      this.lastPass.delete(k);
      this.written.delete(k);
      return;
    }
    // An instance whose inputs did not change since a pass that changed nothing is only re-checked
    // (death, drift) every RECHECK_MS, not on every event of every other object.
    const fp = this.fingerprint(inst, this.view());
    const last = this.lastPass.get(k);
    if (last && last.fp === fp && !last.again && Date.now() - last.at < RECHECK_MS) return;
    const abort = new AbortController();
    const onStop = () => abort.abort();
    ctx.signal.addEventListener("abort", onStop, { once: true });
    this.running.set(k, { abort, interrupt: interruptKey(inst), since: Date.now() });
    this.counters.passes++;
    const hints: PassHints = {};
    let progress = false;
    try {
      progress = await instancePass(this.deps, inst, abort.signal, hints);
    } catch (e) {
      progress = true; // interrupted by a newer wish (delete, stop, reboot): run again at once
      if (!isAbort(e) && !abort.signal.aborted) {
        await this.failed(inst, e, ctx.attempt + 1);
        throw e;
      }
    } finally {
      ctx.signal.removeEventListener("abort", onStop);
      this.running.delete(k);
      this.lastPass.set(k, { fp, at: Date.now(), again: progress || hints.requeueAfterMs !== undefined });
      if (progress) this.counters.changes++;
    }
    if (progress) return { requeueAfterMs: 0 };
    return hints.requeueAfterMs === undefined ? undefined : { requeueAfterMs: hints.requeueAfterMs };
  }

  private async failed(inst: Instance, e: unknown, attempt: number): Promise<void> {
    const step = e instanceof StepError ? e.step : "Started";
    const message = (e as Error).message;
    const delay = this.controller.queue.backoffFor(attempt);
    this.counters.failures++;
    const why = `${step} failed (attempt ${attempt}, retry in ${Math.round(delay / 1000)} s): ${message}`;
    await this.o.events.record(inst, "Warning", `${step}Failed`, why);
    await this.write(inst, new StatusReport().blocked(step, "Error", message)).catch(() => undefined);
  }

  // Writes the report through /status (guaranteedUpdate), starting from our own last write when it
  // is newer than the informer's copy; records step latencies and step Events for what turned True.
  private async write(inst: Instance, r: StatusReport): Promise<boolean> {
    const k = key(inst);
    const mineLast = this.written.get(k);
    const current =
      mineLast &&
      mineLast.metadata.uid === inst.metadata.uid &&
      Number(mineLast.metadata.resourceVersion) > Number(inst.metadata.resourceVersion)
        ? mineLast
        : inst;
    let before: Instance = current;
    const next = await this.o.client.guaranteedUpdate<Instance>(
      InstanceKind,
      inst.metadata.namespace,
      inst.metadata.name!,
      (cur) => {
        if (cur.metadata.uid !== inst.metadata.uid || cur.status?.host !== this.o.self) return undefined;
        before = cur;
        return applyReport(cur, r);
      },
      { subresource: "status", fieldManager: "kumo-agent", current },
    );
    // guaranteedUpdate hands back the object it read when nothing had to change.
    if (next.metadata.resourceVersion === before.metadata.resourceVersion) return false;
    this.written.set(k, next);
    for (const s of newlyDone(before, next)) {
      this.o.onStep?.(inst.spec!.kind, s.step, s.ms);
      const c = next.status?.conditions?.find((x) => x.type === s.step);
      // Not awaited: the status write is what the next step waits on. record() counts its own failures.
      this.o.events
        .record(next, "Normal", s.step, `${c?.message ?? s.step} (+${s.ms} ms)`)
        .catch((e) => this.o.log.warn({ err: (e as Error).message, reason: s.step }, "event not recorded"));
    }
    return true;
  }

  // What a pass over `inst` reads: the instance, its image, its ports, its networks' readiness, its runtime.
  private fingerprint(inst: Instance, v: InstanceView): string {
    const img = v.images.find((i) => i.metadata.name === inst.spec!.image);
    const ports = v.ports.filter(
      (p) => p.metadata.namespace === inst.metadata.namespace && p.spec!.deviceOwner === `instance:${inst.metadata.name}`,
    );
    const nets = ports.map((p) => this.o.dataplane.networkState(inst.metadata.namespace!, p.spec!.network, p.spec!.macAddress).ready);
    const rt = this.runtimes.get(runtimeId(inst));
    return JSON.stringify([
      inst.metadata.resourceVersion,
      img?.metadata.resourceVersion,
      ports.map((p) => p.metadata.resourceVersion),
      nets,
      rt?.state,
      rt?.startedAt,
    ]);
  }

  private remember(st: InstanceRuntimeStatus): InstanceRuntimeStatus {
    this.runtimes.set(st.id, st);
    return st;
  }

  /** The sweep: lists the runtimes, removes those and the netns no instance claims, re-queues instances whose runtime changed. */
  private async listRuntimes(): Promise<void> {
    const list = await this.o.runtime.list();
    const before = this.runtimes;
    this.runtimes = new Map(list.map((s) => [s.id, s]));
    for (const s of list) if (s.detail === "adopted" && !before.has(s.id)) this.counters.adopted++;
    const mine = this.mine();
    const claimed = new Set(mine.map((i) => runtimeId(i)));
    for (const s of list) if (!claimed.has(s.id)) this.removeOrphan(s.id);
    await this.sweepNetns(new Set(mine.map((i) => uidHash(i.metadata.uid!))));
    // A runtime that died or was restarted changes what its instance's pass reports.
    for (const i of mine) {
      const [a, b] = [before.get(runtimeId(i)), this.runtimes.get(runtimeId(i))];
      if (a && (a.state !== b?.state || a.startedAt !== b?.startedAt)) this.controller.add(key(i));
    }
  }

  // Runtimes nobody claims (instance deleted while the agent was down, or moved): removed once.
  private removeOrphan(id: string): void {
    if (this.removing.has(id)) return;
    this.removing.add(id);
    void removeRuntime(this.deps, id, hashOfRuntimeId(id) ?? "00000000")
      .then(() => {
        this.counters.orphansRemoved++;
        this.o.log.info({ runtime: id }, "removed runtime no instance claims");
      })
      .catch((e) => this.o.log.warn({ runtime: id, err: (e as Error).message }, "removing an orphan runtime failed"))
      .finally(() => this.removing.delete(id));
  }

  private async sweepNetns(hashes: Set<string>): Promise<void> {
    const prefix = `${this.o.netnsPrefix}-i-`;
    for (const ns of await readdir("/run/netns").catch(() => [] as string[])) {
      if (!ns.startsWith(prefix) || hashes.has(ns.slice(prefix.length))) continue;
      if ([...this.removing].some((id) => instanceNetns(this.o.netnsPrefix, hashOfRuntimeId(id) ?? "") === ns)) continue;
      await this.deps.net.unplug({ portNetns: ns, ifName: "" }).catch(() => undefined);
      this.counters.netnsSwept++;
    }
  }

  /** Console (VM) or stdout/stderr (container) of an instance of this host. */
  async logs(namespace: string, name: string, tailBytes?: number): Promise<string | undefined> {
    const inst = this.o.caches.instances.get(`${namespace}/${name}`);
    if (!inst || inst.status?.host !== this.o.self) return undefined;
    return this.o.runtime.logs(runtimeId(inst), { tailBytes });
  }

  /** The file logs() reads, to follow it; undefined when the instance is not (or no longer) on this host. */
  logFile(namespace: string, name: string): string | undefined {
    const inst = this.o.caches.instances.get(`${namespace}/${name}`);
    if (!inst || inst.status?.host !== this.o.self) return undefined;
    return this.o.runtime.logFile(runtimeId(inst), inst.spec?.kind === "vm" ? "vm" : "container");
  }

  /** Instances desired to run here vs runtimes running (gauges). */
  counts(): { desired: number; running: number; runtimes: number } {
    const desired = this.mine().filter((i) => !i.metadata.deletionTimestamp && i.spec!.running !== false).length;
    const running = [...this.runtimes.values()].filter((s) => s.state === "running").length;
    return { desired, running, runtimes: this.runtimes.size };
  }

  /** Per-instance steps, runtime state, passes in flight and failures for /debug/state. */
  snapshot(): Record<string, unknown> {
    const now = Date.now();
    const failing = this.controller.snapshot().failing;
    return {
      counters: { ...this.counters },
      ...this.counts(),
      instances: this.mine().map((i) => {
        const k = key(i);
        const last = this.written.get(k);
        const cur = last && Number(last.metadata.resourceVersion) > Number(i.metadata.resourceVersion) ? last : i;
        const id = runtimeId(i);
        const w = this.running.get(k);
        return {
          key: k,
          id,
          kind: i.spec!.kind,
          phase: cur.status?.phase,
          message: cur.status?.message,
          steps: stepTimeline(cur),
          runtime: this.runtimes.get(id),
          worker: w ? { busyMs: now - w.since } : undefined,
          failure: failing[k],
        };
      }),
      orphansBeingRemoved: [...this.removing],
    };
  }
}
