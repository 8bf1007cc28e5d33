/**
 * Host lifecycle: the one owner of every Host's Ready condition. Agents only beat (status.lastHeartbeatTime);
 * this controller turns a beat older than the grace period into Ready=False with a Warning Event, and a
 * fresh beat back into Ready=True, so "is host X alive" has one answer and one writer.
 */
import { type Condition, HostKind, type HostStatus, type KObject, findCondition, isNotFound, setCondition } from "@kumo/api";
import type { Logger } from "pino";
import { Gauge, Counter, type Registry } from "prom-client";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";
import type { EventRecorder } from "./events.js";

const CTX = { user: "system:host-lifecycle", manager: "kumo-host-lifecycle", subresource: "status" as const };

/** Marks hosts Ready/NotReady from their heartbeats. */
export class HostLifecycleController {
  private readonly hosts = new Map<string, KObject>();
  private timer?: NodeJS.Timeout;
  private readonly heartbeatAge: Gauge;
  private readonly transitions: Counter;
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly cache: WatchCache,
    private readonly events: EventRecorder,
    private readonly log: Logger,
    registry: Registry,
    private readonly graceMs = 10_000,
  ) {
    this.heartbeatAge = new Gauge({ name: "kumo_host_heartbeat_age_seconds", help: "Seconds since each host's agent last beat, as the server sees it", labelNames: ["host"], registers: [registry] });
    this.transitions = new Counter({ name: "kumo_host_ready_transitions_total", help: "Host readiness changes by new state", labelNames: ["ready"], registers: [registry] });
    this.transitions.labels("True");
    this.transitions.labels("False");
  }

  /** Loads hosts, follows changes, checks every second. */
  async start(): Promise<void> {
    const list = await this.store.list(HostKind, undefined);
    for (const h of list.items) this.hosts.set(h.metadata.name!, h);
    const backlog = this.cache.subscribe({
      prefix: "/registry/infra.kumo.dev/hosts/",
      afterRevision: Number(list.metadata.resourceVersion),
      deliver: (evs) => evs.forEach((e) => (e.type === "DELETED" ? this.forget(e.obj.metadata.name!) : this.hosts.set(e.obj.metadata.name!, e.obj))),
      close: (why) => { if (why !== "shutdown") void this.start(); }, // re-list after a reset, but not after shutdown
    });
    backlog.forEach((e) => (e.type === "DELETED" ? this.forget(e.obj.metadata.name!) : this.hosts.set(e.obj.metadata.name!, e.obj)));
    clearInterval(this.timer);
    this.timer = setInterval(() => this.check(), 1000);
    this.timer.unref();
    this.check();
  }

  private forget(name: string): void {
    this.hosts.delete(name);
    this.heartbeatAge.remove(name);
  }

  /** Stops the periodic check. */
  stop(): void {
    clearInterval(this.timer);
  }

  private check(now = Date.now()): void {
    for (const [name, h] of this.hosts) {
      const st = (h.status ?? {}) as HostStatus;
      const beat = st.lastHeartbeatTime ? Date.parse(st.lastHeartbeatTime) : undefined;
      if (beat === undefined) continue; // never registered by an agent (e.g. created by hand): nothing to judge
      const age = Math.max(0, (now - beat) / 1000);
      this.heartbeatAge.labels(name).set(age);
      const fresh = now - beat <= this.graceMs;
      const ready = findCondition(st.conditions, "Ready");
      const want = fresh ? "True" : "False";
      if (ready?.status === want || this.inFlight.has(name)) continue;
      this.inFlight.add(name);
      void this.transition(name, fresh, age).finally(() => this.inFlight.delete(name));
    }
  }

  private async transition(name: string, fresh: boolean, age: number): Promise<void> {
    const cond: Condition = fresh
      ? { type: "Ready", status: "True", reason: "AgentHeartbeating", message: "the host agent is sending heartbeats" }
      : { type: "Ready", status: "False", reason: "HeartbeatMissed", message: `no heartbeat from the host agent for ${Math.round(age)}s (grace ${this.graceMs / 1000}s)` };
    try {
      const updated = await this.store.guaranteedUpdate(HostKind, undefined, name, CTX, (cur) => {
        const st = (cur.status ?? {}) as HostStatus;
        return { ...cur, status: { ...st, conditions: setCondition(st.conditions, cond, new Date().toISOString()) } };
      });
      this.hosts.set(name, updated);
      this.transitions.labels(cond.status).inc();
      this.log.info({ host: name, ready: cond.status, reason: cond.reason }, "host readiness changed");
      await this.events.record(updated, fresh ? "Normal" : "Warning", fresh ? "HostReady" : "HostNotReady", cond.message!);
    } catch (e) {
      if (!isNotFound(e)) this.log.warn({ host: name, err: String(e) }, "host readiness update failed");
    }
  }

  /** State for /debug/state. */
  snapshot() {
    const now = Date.now();
    return [...this.hosts.values()].map((h) => {
      const st = (h.status ?? {}) as HostStatus;
      return { host: h.metadata.name, ready: findCondition(st.conditions, "Ready")?.status ?? "Unknown", heartbeatAgeSeconds: st.lastHeartbeatTime ? Math.round((now - Date.parse(st.lastHeartbeatTime)) / 100) / 10 : null };
    });
  }
}
