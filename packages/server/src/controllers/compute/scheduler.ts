/**
 * The scheduler: places each unscheduled Instance on a Host.
 *
 * A decision is taken synchronously on the local view (filters + score), ASSUMED locally so this scheduler's
 * next decisions already see it, then COMMITTED with the API's concurrency rules: reserve on the Host
 * (host-allocation.ts re-checks capacity on the latest version), then bind the Instance (status.host, phase,
 * Scheduled=True) with a guaranteedUpdate that refuses an instance already bound, deleted or re-created; a
 * failed bind gives the reservation back. Any number of schedulers may run against one store.
 * Anti-affinity is exact within one scheduler and best-effort between concurrent ones (it has no counter on
 * the Host to re-check).
 */
import {
  type Host,
  HostKind,
  ImageKind,
  type Instance,
  type InstanceStatus,
  InstanceKind,
  findCondition,
  isNotFound,
  setCondition,
} from "@kumo/api";
import { Controller, type Enqueue, type ReconcileResult } from "@kumo/runtime";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ObjectStore, WriteContext } from "../../registry/store.js";
import type { WatchCache } from "../../registry/watch-cache.js";
import { type Change, isChangeOf, LocalInformer } from "../../informers/local-informer.js";
import type { EventRecorder } from "../../observability/events.js";
import { type FilterFailure, type PlacementRequest, dominantFailure, unschedulableMessage } from "./filters.js";
import { release, reserve, ReservationRefused } from "./host-allocation.js";
import { type Resources, instanceResources, keyOf, needsScheduling, splitKey } from "./resources.js";
import { LatencyWindow, schedulerMetrics, type SchedulerMetrics } from "./scheduler-metrics.js";
import { chooseHost, type SchedulePolicy } from "./score.js";
import { type Assumption, SchedulerView } from "./scheduler-view.js";

/** Field manager and user of every scheduler write. */
export const SCHEDULER_CTX: WriteContext = { user: "system:kumo-scheduler", manager: "kumo-scheduler" };

/** Options of a Scheduler. */
export interface SchedulerOptions {
  policy?: SchedulePolicy;
  /** Shown in /debug/state, logs and events, and the name of its loop (several schedulers may run; default "scheduler"). */
  name?: string;
  /** Concurrent commits (default 32; decisions themselves are serialised by the event loop). More fill sqlite's group commits. */
  workers?: number;
  /** First retry delay of an unschedulable instance (doubles per failure, capped by retryMaxMs). */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** At most one FailedScheduling event per instance per this interval. */
  eventIntervalMs?: number;
}

/** One decision, for /debug/state. */
type DecisionRecord = { instance: string; result: string; host?: string; reason?: string; message?: string; ms: number; at: string };

class BindConflict extends Error {}

/** Event writes a scheduler lets run behind its decisions before it waits for them. */
const MAX_EVENTS_IN_FLIGHT = 256;

/** Places instances on hosts: a loop whose workers commit decisions taken one at a time on the local view. */
export class Scheduler {
  readonly name: string;
  readonly policy: SchedulePolicy;
  readonly loop: Controller;
  private readonly informer: LocalInformer;
  private readonly m: SchedulerMetrics;
  private readonly view = new SchedulerView();
  /** Instances that failed and wait for a host or image change (or their backoff). */
  private readonly pending = new Set<string>();
  private readonly warnedAt = new Map<string, number>();
  private readonly recent: DecisionRecord[] = [];
  private readonly latency = new LatencyWindow();
  private readonly depth = () => this.loop.queue.len();
  private readonly eventsInFlight = new Set<Promise<void>>();
  placedTotal = 0;
  /** Decisions of this scheduler by result (the metric sums all schedulers of the process). */
  readonly results: Record<string, number> = { scheduled: 0, unschedulable: 0, conflict: 0 };

  constructor(
    private readonly store: ObjectStore,
    cache: WatchCache,
    private readonly events: EventRecorder,
    private readonly log: Logger,
    registry: Registry,
    private readonly opts: SchedulerOptions = {},
  ) {
    this.name = opts.name ?? "kumo-scheduler";
    this.policy = opts.policy ?? "spread";
    this.m = schedulerMetrics(registry);
    this.informer = new LocalInformer("scheduling", store, cache, [HostKind, ImageKind, InstanceKind], (c, q) => this.onChange(c, q));
    this.loop = new Controller({
      name: opts.name ?? "scheduler",
      log,
      workers: opts.workers ?? 32,
      baseDelayMs: opts.retryBaseMs ?? 500,
      maxDelayMs: opts.retryMaxMs ?? 30_000,
      sources: [this.informer],
      reconciler: (_ctx, key) => this.reconcile(key),
    });
  }

  /** Fills the caches, queues every unscheduled instance and starts the workers; stops when `signal` aborts. */
  async start(signal: AbortSignal = new AbortController().signal): Promise<void> {
    this.m.queues.add(this.depth);
    await this.loop.start(signal);
    this.log.info({ scheduler: this.name, policy: this.policy, hosts: this.view.size, queued: this.loop.queue.len() }, "scheduler started");
  }

  /** Stops taking work and waits for in-flight commits and the events they are writing. */
  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.allSettled([...this.eventsInFlight]);
    this.m.queues.delete(this.depth);
  }

  private onChange(c: Change, enqueue: Enqueue): void {
    if (isChangeOf(c, HostKind)) {
      if (c.type === "DELETED") this.view.deleteHost(c.obj.metadata.name!);
      else if (this.view.setHost(c.obj)) this.retryPending();
      return;
    }
    if (!isChangeOf(c, InstanceKind)) {
      if (c.kind === ImageKind && c.type === "ADDED") this.retryPending();
      return;
    }
    const { type, obj, prev } = c;
    if (this.view.setInstance(obj, type === "DELETED")) this.retryPending(); // an anti-affinity slot freed
    const key = keyOf(obj);
    if (type === "DELETED" || !needsScheduling(obj)) {
      this.pending.delete(key);
      this.warnedAt.delete(key);
      return;
    }
    // A refused instance waits for its backoff or a host/image change; its own status updates are not news.
    if (this.pending.has(key) && prev && prev.metadata.generation === obj.metadata.generation) return;
    enqueue(key);
  }

  private retryPending(): void {
    for (const k of this.pending) this.loop.add(k);
  }

  /** One instance; an error is counted as a scheduling decision too, then retried with backoff by the loop. */
  private async reconcile(key: string): Promise<ReconcileResult> {
    try {
      return await this.scheduleOne(key);
    } catch (e) {
      this.m.decisions.labels("error").inc();
      this.m.failures.labels("Error").inc();
      throw e;
    }
  }

  private async scheduleOne(key: string): Promise<ReconcileResult> {
    const inst = this.informer.get(InstanceKind, key);
    if (!inst || !needsScheduling(inst)) {
      this.pending.delete(key);
      return;
    }
    const t0 = performance.now();
    const spec = inst.spec!;
    const image = this.informer.get(ImageKind, `/${spec.image}`);
    // Only a missing Image blocks placement: an image still uploading is the agent's to wait for (ImageReady).
    if (!image) return this.refuse(inst, "ImageNotFound", `image "${spec.image}" not found`, "ImageNotFound", t0);
    const req: PlacementRequest = {
      resources: instanceResources(inst)!,
      nodeSelector: spec.nodeSelector,
      antiAffinityGroup: spec.antiAffinityGroup,
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const { best, failures } = chooseHost(this.view.hosts(), req, this.policy, this.view.overlay(req.antiAffinityGroup));
      if (!best) {
        const top = dominantFailure(failures);
        return this.refuse(inst, "Unschedulable", unschedulableMessage(this.view.size, failures), top ?? "Unschedulable", t0);
      }
      const a: Assumption = { host: best.name, resources: req.resources, group: req.antiAffinityGroup };
      this.view.assume(key, a);
      try {
        let host: Host;
        try {
          host = await reserve(this.store, best.name, req.resources, SCHEDULER_CTX);
        } catch (e) {
          if (isNotFound(e)) {
            this.view.deleteHost(best.name); // deleted since our view saw it: decide again without it
            continue;
          }
          if (!(e instanceof ReservationRefused)) throw e;
          // Someone else took the room first: our view was stale. Catch up and decide again.
          this.m.failures.labels("ReservationRefused").inc();
          this.informer.observe(HostKind, e.host);
          continue;
        }
        a.committedRv = Number(host.metadata.resourceVersion);
        this.informer.observe(HostKind, host);
        return await this.commit(inst, best.name, req.resources, t0);
      } finally {
        this.view.forget(key);
      }
    }
    return { requeue: true }; // lost the race five times in a row: back off
  }

  /** Binds after a successful reservation; gives the reservation back if the bind is refused. */
  private async commit(inst: Instance, host: string, res: Resources, t0: number): Promise<void> {
    const key = keyOf(inst);
    let bound: Instance;
    try {
      bound = await this.bind(inst, host);
    } catch (e) {
      await release(this.store, host, res, SCHEDULER_CTX)
        .then((h) => h && this.informer.observe(HostKind, h))
        .catch((err) => {
          this.m.failures.labels("ReleaseFailed").inc();
          this.log.error(
            { scheduler: this.name, instance: key, host, err: String(err) },
            "could not give back a reservation after a failed bind; the next server start repairs it",
          );
        });
      if (!(e instanceof BindConflict)) throw e;
      this.m.failures.labels("BindConflict").inc();
      this.record(inst, "conflict", t0, { host, message: e.message });
      return;
    }
    this.informer.observe(InstanceKind, bound);
    this.pending.delete(key);
    this.warnedAt.delete(key);
    this.placedTotal++;
    this.record(inst, "scheduled", t0, { host });
    await this.event(this.events.record(bound, "Normal", "Scheduled", `assigned to host ${host} (${this.policy}) by ${this.name}`));
  }

  private bind(inst: Instance, host: string): Promise<Instance> {
    const { namespace, name } = splitKey(keyOf(inst));
    return this.store
      .guaranteedUpdate(InstanceKind, namespace, name, { ...SCHEDULER_CTX, subresource: "status" }, (cur) => {
        const st: InstanceStatus = cur.status ?? {};
        if (cur.metadata.uid !== inst.metadata.uid) throw new BindConflict("the instance was deleted and re-created");
        if (cur.metadata.deletionTimestamp) throw new BindConflict("the instance is being deleted");
        if (st.host) throw new BindConflict(`already bound to host ${st.host}`);
        const conditions = setCondition(st.conditions, {
          type: "Scheduled",
          status: "True",
          reason: "Assigned",
          message: `assigned to host ${host}`,
        });
        const status: InstanceStatus = { ...st, host, phase: "Scheduled", conditions };
        return { ...cur, status };
      })
      .catch((e) => {
        if (isNotFound(e)) throw new BindConflict("the instance was deleted");
        throw e;
      });
  }

  /** Records a refusal: Scheduled=False with the reason (written only when it changes), a throttled Warning, a retry with backoff. */
  private async refuse(
    inst: Instance,
    reason: string,
    message: string,
    metricReason: FilterFailure | string,
    t0: number,
  ): Promise<ReconcileResult> {
    const key = keyOf(inst);
    this.pending.add(key);
    this.m.failures.labels(metricReason).inc();
    const cur = findCondition(inst.status?.conditions, "Scheduled");
    if (cur?.status !== "False" || cur.reason !== reason || cur.message !== message) {
      const { namespace, name } = splitKey(key);
      try {
        const updated = await this.store.guaranteedUpdate(
          InstanceKind,
          namespace,
          name,
          { ...SCHEDULER_CTX, subresource: "status" },
          (o) => {
            const st: InstanceStatus = o.status ?? {};
            if (o.metadata.uid !== inst.metadata.uid || st.host || o.metadata.deletionTimestamp) return o;
            return {
              ...o,
              status: {
                ...st,
                phase: st.phase ?? "Pending",
                conditions: setCondition(st.conditions, { type: "Scheduled", status: "False", reason, message }),
              },
            };
          },
        );
        this.informer.observe(InstanceKind, updated);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    this.record(inst, "unschedulable", t0, { reason, message });
    const last = this.warnedAt.get(key) ?? 0;
    if (Date.now() - last >= (this.opts.eventIntervalMs ?? 30_000)) {
      this.warnedAt.set(key, Date.now());
      await this.event(this.events.record(inst, "Warning", "FailedScheduling", message));
    }
    return { requeue: true };
  }

  /**
   * Lets an event write finish in the background: the placement is already stored, and a worker waiting
   * for a third commit would cut throughput by a third on a durable store. Bounded, so a flood of decisions
   * waits for its events instead of piling them up.
   */
  private async event(write: Promise<void>): Promise<void> {
    this.eventsInFlight.add(write);
    const landed = () => void this.eventsInFlight.delete(write);
    write.then(landed, landed);
    if (this.eventsInFlight.size > MAX_EVENTS_IN_FLIGHT) await Promise.race(this.eventsInFlight);
  }

  private record(
    inst: Instance,
    result: "scheduled" | "unschedulable" | "conflict",
    t0: number,
    d: { host?: string; reason?: string; message?: string },
  ): void {
    const ms = performance.now() - t0;
    this.m.decisions.labels(result).inc();
    this.results[result]++;
    this.m.decisionSeconds.observe(ms / 1000);
    this.latency.push(ms);
    this.recent.push({ instance: keyOf(inst), result, ...d, ms: Math.round(ms * 1000) / 1000, at: new Date().toISOString() });
    if (this.recent.length > 50) this.recent.shift();
  }

  /** Decision latency percentiles over the last decisions, in ms; `reset` starts a new window (bench phases). */
  latencyMs(reset = false) {
    const out = { p50: this.latency.quantile(0.5), p99: this.latency.quantile(0.99), samples: this.latency.count };
    if (reset) this.latency.clear();
    return out;
  }

  /** State for /debug/state: the loop's (queue, reconciles, failures) and the scheduler's own. */
  snapshot() {
    return {
      ...this.loop.snapshot(),
      name: this.name,
      policy: this.policy,
      hosts: this.view.size,
      instances: this.informer.count(InstanceKind),
      placedTotal: this.placedTotal,
      results: this.results,
      pending: [...this.pending].slice(0, 100),
      pendingCount: this.pending.size,
      assumed: this.view.inFlight(),
      latencyMs: this.latencyMs(),
      lastDecisions: this.recent.slice(-20),
    };
  }
}
