/**
 * Host lifecycle: the one owner of every Host's Ready condition. Agents only beat (status.lastHeartbeatTime);
 * this loop turns a beat older than the grace period into Ready=False with a Warning Event, and a fresh beat
 * back into Ready=True, so "is host X alive" has one answer and one writer. Each beat is an update that
 * queues its host; a fresh host is looked at again the moment its beat would go stale (requeue-after), so
 * no timer walks every host.
 */
import { type Condition, type Host, HostKind, type HostStatus, findCondition, isNotFound, setCondition } from "@kumo/api";
import { Controller, type ReconcileResult } from "@kumo/runtime";
import type { Logger } from "pino";
import { Counter, Gauge, type Registry } from "prom-client";
import { isChangeOf, LocalInformer } from "../informers/local-informer.js";
import type { EventRecorder } from "../observability/events.js";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";

const CTX = { user: "system:host-lifecycle", manager: "kumo-host-lifecycle", subresource: "status" as const };

const beatOf = (h: Host) => {
  const t = h.status?.lastHeartbeatTime;
  return t ? Date.parse(t) : undefined;
};

const readyOf = (h: Host) => findCondition(h.status?.conditions, "Ready")?.status;

/** Marks hosts Ready/NotReady from their heartbeats. */
export class HostLifecycleController {
  readonly loop: Controller;
  private readonly informer: LocalInformer;
  private readonly transitions: Counter;

  constructor(
    private readonly store: ObjectStore,
    cache: WatchCache,
    private readonly events: EventRecorder,
    private readonly log: Logger,
    registry: Registry,
    private readonly graceMs = 10_000,
  ) {
    const informer = (this.informer = new LocalInformer("hosts", store, cache, [HostKind], (c, enqueue) => {
      if (!isChangeOf(c, HostKind)) return; // the informer follows Hosts only
      const { type, obj, prev } = c;
      // Only a beat or a readiness change is news: the scheduler's reservations rewrite a Host's status often.
      if (type === "DELETED" || (prev && beatOf(prev) === beatOf(obj) && readyOf(prev) === readyOf(obj))) return;
      enqueue(obj.metadata.name!);
    }));
    new Gauge({
      name: "kumo_host_heartbeat_age_seconds",
      help: "Seconds since each host's agent last beat, as the server sees it",
      labelNames: ["host"],
      registers: [registry],
      collect() {
        // Read at scrape time from the cache: always current, and a deleted host's series goes with it.
        this.reset();
        const now = Date.now();
        for (const h of informer.list(HostKind)) {
          const beat = beatOf(h);
          if (beat !== undefined) this.labels(h.metadata.name!).set(Math.max(0, (now - beat) / 1000));
        }
      },
    });
    this.transitions = new Counter({
      name: "kumo_host_ready_transitions_total",
      help: "Host readiness changes by new state",
      labelNames: ["ready"],
      registers: [registry],
    });
    this.transitions.labels("True").inc(0);
    this.transitions.labels("False").inc(0);
    this.loop = new Controller({
      name: "host-lifecycle",
      log,
      workers: 64,
      sources: [informer],
      reconciler: (_ctx, name) => this.reconcile(name),
      debug: () => this.debug(),
    });
  }

  /** Judges one host's last beat; writes Ready when it changed; comes back when a fresh beat would go stale. */
  async reconcile(name: string, now = Date.now()): Promise<ReconcileResult> {
    const h = this.informer.get(HostKind, `/${name}`);
    const beat = h && beatOf(h);
    if (!h || beat === undefined) return; // gone, or never registered by an agent (created by hand): nothing to judge
    const fresh = now - beat <= this.graceMs;
    const want = fresh ? "True" : "False";
    if (readyOf(h) !== want) await this.transition(name, fresh, (now - beat) / 1000);
    if (fresh) return { requeueAfterMs: beat + this.graceMs - now + 1 };
  }

  private async transition(name: string, fresh: boolean, age: number): Promise<void> {
    const cond: Condition = fresh
      ? { type: "Ready", status: "True", reason: "AgentHeartbeating", message: "the host agent is sending heartbeats" }
      : {
          type: "Ready",
          status: "False",
          reason: "HeartbeatMissed",
          message: `no heartbeat from the host agent for ${Math.round(age)}s (grace ${this.graceMs / 1000}s)`,
        };
    let updated: Host;
    try {
      updated = await this.store.guaranteedUpdate(HostKind, undefined, name, CTX, (cur) => {
        const st: HostStatus = cur.status ?? {};
        return { ...cur, status: { ...st, conditions: setCondition(st.conditions, cond, new Date().toISOString()) } };
      });
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    this.informer.observe(HostKind, updated);
    this.transitions.labels(cond.status).inc();
    this.log.info({ host: name, ready: cond.status, reason: cond.reason }, "host readiness changed");
    await this.events.record(updated, fresh ? "Normal" : "Warning", fresh ? "HostReady" : "HostNotReady", cond.message!);
  }

  /** Each host's readiness and beat age, for /debug/state. */
  private debug() {
    const now = Date.now();
    return [...this.informer.list(HostKind)].map((h) => {
      const beat = beatOf(h);
      const heartbeatAgeSeconds = beat === undefined ? null : Math.round((now - beat) / 100) / 10;
      return { host: h.metadata.name, ready: readyOf(h) ?? "Unknown", heartbeatAgeSeconds };
    });
  }
}
