/**
 * InstanceManager: runs the Instances whose status.host is this agent. Each reconcile pass calls
 * sync(), which lists the runtimes (adopting what a previous agent left running: nothing is ever
 * killed on restart), removes runtimes and netns no instance claims, and starts one background
 * worker per instance (instance-flow.ts), so a VM waiting for its guest's DHCP lease or an image
 * download never holds up the host's network reconcile. Workers kick the agent when they change
 * something; failures back off per instance and are reported as a False condition plus an Event.
 */
import { readdir } from "node:fs/promises";
import { type Image, type Instance, InstanceKind, type Network, type Port, stepTimeline } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import type { Logger } from "pino";
import type { CompositeRuntimeDriver } from "../runtime/composite.js";
import type { InstanceRuntimeStatus } from "../runtime/types.js";
import type { AgentEvents } from "./events.js";
import type { ImageCache } from "./image-cache.js";
import { type InstanceDataplane, type NetOps, linuxNetOps } from "./instance-env.js";
import { type FlowDeps, StepError, instancePass, removeRuntime } from "./instance-flow.js";
import { hashOfRuntimeId, instanceNetns, interruptKey, runtimeId, uidHash } from "./instance-spec.js";
import { StatusReport, applyReport, newlyDone } from "./instance-status.js";

/** What the manager reads from the informers. */
export interface InstanceView {
  instances: Instance[];
  images: Image[];
  ports: Port[];
  networks: Network[];
}

/** Options of an InstanceManager. */
export interface InstanceManagerOptions {
  self: string;
  netnsPrefix: string;
  stateDir: string;
  client: KumoClient;
  events: Pick<AgentEvents, "record">;
  log: Logger;
  runtime: CompositeRuntimeDriver;
  images: ImageCache;
  dataplane: InstanceDataplane;
  view: () => InstanceView;
  /** Called when a worker changed something (the agent runs another pass). */
  onProgress: () => void;
  /** Called with each step's latency when it turns True (metrics). */
  onStep?: (kind: string, step: string, ms: number) => void;
  net?: NetOps;
  leaseWaitMs?: number;
}

interface Worker {
  abort: AbortController;
  interrupt: string;
  rerun: boolean;
  since: number;
  fp: string;
}

/** Minimum time between runtime list() calls. */
const LIST_EVERY_MS = 1000;
/** Re-check period of an instance nothing changed about (finds dead runtimes, reboot due). */
const RECHECK_MS = 4000;

const key = (i: Instance) => `${i.metadata.namespace}/${i.metadata.name}`;

/** Keeps this host's instances running as their specs say. */
export class InstanceManager {
  readonly counters = { passes: 0, changes: 0, failures: 0, orphansRemoved: 0, netnsSwept: 0, adopted: 0 };
  private readonly workers = new Map<string, Worker>();
  private readonly failures = new Map<string, { count: number; next: number; step: string; message: string }>();
  private readonly written = new Map<string, Instance>();
  private runtimes = new Map<string, InstanceRuntimeStatus>();
  private readonly removing = new Set<string>();
  private readonly deps: FlowDeps;
  private mine: Instance[] = [];
  private listedAt = 0;
  private readonly lastPass = new Map<string, { fp: string; at: number; progress: boolean }>();

  constructor(private readonly o: InstanceManagerOptions) {
    this.deps = {
      self: o.self, netnsPrefix: o.netnsPrefix, stateDir: o.stateDir, images: o.images,
      // Runtime calls keep the state cache current between the (throttled) list() calls.
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
      dataplane: o.dataplane, net: o.net ?? linuxNetOps, view: () => o.view(),
      runtimeState: (id) => this.runtimes.get(id),
      write: (inst, r) => this.write(inst, r),
      event: (inst, type, reason, message) => void o.events.record(inst, type, reason, message),
      addressed: new Map(), leaseWaitMs: o.leaseWaitMs ?? 180_000, leasePollMs: 250,
    };
  }

  /** One reconcile pass: adopt/sweep runtimes, then (re)start a worker per local instance. */
  async sync(): Promise<void> {
    const v = this.o.view();
    this.mine = v.instances.filter((i) => i.status?.host === this.o.self);
    // Listing costs an exec per runtime kind plus a read per instance: at most once a second, however
    // many watch events a burst brings (ensure/stop/remove results keep the cache current meanwhile).
    if (Date.now() - this.listedAt >= LIST_EVERY_MS) {
      this.listedAt = Date.now();
      const list = await this.o.runtime.list();
      const before = this.runtimes;
      this.runtimes = new Map(list.map((s) => [s.id, s]));
      for (const s of list) if (s.detail === "adopted" && !before.has(s.id)) this.counters.adopted++;
      const claimed = new Map(this.mine.map((i) => [runtimeId(i), i]));
      for (const s of list) if (!claimed.has(s.id)) this.removeOrphan(s.id);
      await this.sweepNetns(new Set(this.mine.map((i) => uidHash(i.metadata.uid!))));
    }
    const byKey = new Map(this.mine.map((i) => [key(i), i]));
    for (const m of [this.lastPass, this.written, this.failures] as Map<string, unknown>[]) for (const k of m.keys()) if (!byKey.has(k)) m.delete(k);
    for (const [k, w] of this.workers) if (interruptKey(byKey.get(k)) !== w.interrupt) w.abort.abort();
    for (const inst of this.mine) this.schedule(inst, v);
  }

  private schedule(inst: Instance, v: InstanceView): void {
    const k = key(inst);
    const busy = this.workers.get(k);
    if (busy) {
      busy.rerun = true;
      return;
    }
    const f = this.failures.get(k);
    if (f && Date.now() < f.next) return;
    // An instance whose inputs did not change since a pass that changed nothing is only re-checked
    // (death, drift) every RECHECK_MS, not on every watch event of every other object.
    const fp = this.fingerprint(inst, v);
    const last = this.lastPass.get(k);
    if (last && last.fp === fp && !last.progress && Date.now() - last.at < RECHECK_MS) return;
    const w: Worker = { abort: new AbortController(), interrupt: interruptKey(inst), rerun: false, since: Date.now(), fp };
    this.workers.set(k, w);
    void this.work(k, inst, w);
  }

  private async work(k: string, inst: Instance, w: Worker): Promise<void> {
    let progress = false;
    this.counters.passes++;
    try {
      progress = await instancePass(this.deps, inst, w.abort.signal);
      this.failures.delete(k);
    } catch (e) {
      if ((e as Error).name === "AbortError" || w.abort.signal.aborted) {
        progress = true; // interrupted by a newer wish (delete, stop, reboot): run again at once
      } else {
        progress = true;
        await this.failed(k, inst, e);
      }
    } finally {
      this.lastPass.set(k, { fp: w.fp, at: Date.now(), progress });
      this.workers.delete(k);
      if (progress) this.counters.changes++;
      if (progress || w.rerun) this.o.onProgress();
    }
  }

  private async failed(k: string, inst: Instance, e: unknown): Promise<void> {
    const step = e instanceof StepError ? e.step : "Started";
    const message = (e as Error).message;
    const count = (this.failures.get(k)?.count ?? 0) + 1;
    const delay = Math.min(30_000, 500 * 2 ** count);
    this.failures.set(k, { count, next: Date.now() + delay, step, message });
    this.counters.failures++;
    setTimeout(() => this.o.onProgress(), delay + 10).unref();
    this.o.log.warn({ instance: k, step, attempt: count, err: message }, "instance step failed");
    void this.o.events.record(inst, "Warning", `${step}Failed`, `${step} failed (attempt ${count}, retry in ${Math.round(delay / 1000)} s): ${message}`);
    await this.write(inst, new StatusReport().blocked(step, "Error", message)).catch(() => undefined);
  }

  // Writes the report through /status (guaranteedUpdate), starting from our own last write when it
  // is newer than the informer's copy; records step latencies and step Events for what turned True.
  private async write(inst: Instance, r: StatusReport): Promise<boolean> {
    const k = key(inst);
    const mineLast = this.written.get(k);
    const current = mineLast && mineLast.metadata.uid === inst.metadata.uid && Number(mineLast.metadata.resourceVersion) > Number(inst.metadata.resourceVersion) ? mineLast : inst;
    let before: Instance = current;
    const next = await this.o.client.guaranteedUpdate<Instance>(InstanceKind, inst.metadata.namespace, inst.metadata.name!, (cur) => {
      if (cur.metadata.uid !== inst.metadata.uid || cur.status?.host !== this.o.self) return undefined;
      before = cur;
      return applyReport(cur, r);
    }, { subresource: "status", fieldManager: "kumo-agent", current });
    // guaranteedUpdate hands back the object it read when nothing had to change.
    if (next.metadata.resourceVersion === before.metadata.resourceVersion) return false;
    this.written.set(k, next);
    for (const s of newlyDone(before, next)) {
      this.o.onStep?.(inst.spec!.kind, s.step, s.ms);
      const c = next.status?.conditions?.find((x) => x.type === s.step);
      void this.o.events.record(next, "Normal", s.step, `${c?.message ?? s.step} (+${s.ms} ms)`);
    }
    return true;
  }

  // What a pass over `inst` reads: the instance, its image, its ports, its networks' readiness, its runtime.
  private fingerprint(inst: Instance, v: InstanceView): string {
    const img = v.images.find((i) => i.metadata.name === inst.spec!.image);
    const ports = v.ports.filter((p) => p.metadata.namespace === inst.metadata.namespace && p.spec!.deviceOwner === `instance:${inst.metadata.name}`);
    const nets = ports.map((p) => this.o.dataplane.networkState(inst.metadata.namespace!, p.spec!.network, p.spec!.macAddress).ready);
    const rt = this.runtimes.get(runtimeId(inst));
    return JSON.stringify([inst.metadata.resourceVersion, img?.metadata.resourceVersion, ports.map((p) => p.metadata.resourceVersion), nets, rt?.state, rt?.startedAt]);
  }

  private remember(st: InstanceRuntimeStatus): InstanceRuntimeStatus {
    this.runtimes.set(st.id, st);
    return st;
  }

  // Runtimes nobody claims (instance deleted while the agent was down, or moved): removed once.
  private removeOrphan(id: string): void {
    if (this.removing.has(id)) return;
    this.removing.add(id);
    void removeRuntime(this.deps, id, hashOfRuntimeId(id) ?? "00000000")
      .then(() => { this.counters.orphansRemoved++; this.o.log.info({ runtime: id }, "removed runtime no instance claims"); })
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
    const inst = this.o.view().instances.find((i) => i.metadata.namespace === namespace && i.metadata.name === name);
    if (!inst || inst.status?.host !== this.o.self) return undefined;
    return this.o.runtime.logs(runtimeId(inst), { tailBytes });
  }

  /** The file logs() reads, to follow it; undefined when the instance is not (or no longer) on this host. */
  logFile(namespace: string, name: string): string | undefined {
    const inst = this.o.view().instances.find((i) => i.metadata.namespace === namespace && i.metadata.name === name);
    if (!inst || inst.status?.host !== this.o.self) return undefined;
    return this.o.runtime.logFile(runtimeId(inst), inst.spec?.kind === "vm" ? "vm" : "container");
  }

  /** Instances desired to run here vs runtimes running (gauges). */
  counts(): { desired: number; running: number; runtimes: number } {
    const desired = this.mine.filter((i) => !i.metadata.deletionTimestamp && i.spec!.running !== false).length;
    const running = [...this.runtimes.values()].filter((s) => s.state === "running").length;
    return { desired, running, runtimes: this.runtimes.size };
  }

  /** Per-instance steps, runtime state, workers and failures for /debug/state. */
  snapshot(): Record<string, unknown> {
    const now = Date.now();
    return {
      counters: { ...this.counters },
      ...this.counts(),
      instances: this.mine.map((i) => {
        const k = key(i);
        const last = this.written.get(k);
        const cur = last && Number(last.metadata.resourceVersion) > Number(i.metadata.resourceVersion) ? last : i;
        const id = runtimeId(i);
        const w = this.workers.get(k);
        return {
          key: k, id, kind: i.spec!.kind, phase: cur.status?.phase, message: cur.status?.message,
          steps: stepTimeline(cur), runtime: this.runtimes.get(id),
          worker: w ? { busyMs: now - w.since } : undefined, failure: this.failures.get(k),
        };
      }),
      orphansBeingRemoved: [...this.removing],
    };
  }
}
