/**
 * The agent's loops about its own Host: `heartbeat` (periodic: status.lastHeartbeatTime plus what the agent
 * observes about its dataplane) and `vtep-republish` (the VTEP annotations someone removed come back, but
 * only after a grace period and with a Warning event: re-asserting at once would turn a bad writer into a
 * silent write war).
 */
import { type Host, VTEP_IP_ANNOTATION } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { Controller, type Logger, type ReconcileResult, informerSource, periodicSource } from "@kumo/runtime";
import type { NetworkDriver, SyncReport } from "../network/types.js";
import type { DesiredHost } from "./desired.js";
import type { AgentEvents } from "./events.js";
import type { AgentCaches } from "./informers.js";
import type { AgentMetrics } from "./metrics.js";
import { type HostIdentity, heartbeat, publishVtep } from "./registration.js";

/** What the heartbeat reports. */
export interface HeartbeatOptions {
  client: KumoClient;
  identity: HostIdentity;
  everyMs: number;
  network: Pick<NetworkDriver, "snapshot">;
  lastReport(): SyncReport | undefined;
  desired(): DesiredHost | undefined;
  metrics: AgentMetrics;
  log: Logger;
}

/** The `heartbeat` loop: one key, queued every `everyMs`; a failed beat is retried no sooner than the next one. */
export function heartbeatLoop(o: HeartbeatOptions): Controller {
  const beat = async () => {
    const r = o.lastReport();
    const snap = o.network.snapshot();
    const entries: Record<string, { desired: number; actual: number }> = {};
    for (const n of Object.values(snap.networks)) {
      for (const [k, c] of Object.entries(n.kinds)) {
        const e = (entries[k] ??= { desired: 0, actual: 0 });
        e.desired += c.desired;
        e.actual += c.actual;
      }
    }
    const dataplane = {
      lastSyncTime: snap.lastSync?.at,
      syncDurationMs: r?.durationMs,
      driftRepairsTotal: snap.driftRepairsTotal,
      networks: Object.keys(snap.networks).length,
      entries,
      problems: (o.desired()?.problems ?? []).slice(0, 20),
    };
    try {
      await heartbeat(o.client, o.identity, { dataplane });
      o.metrics.heartbeats.labels("ok").inc();
    } catch (e) {
      o.metrics.heartbeats.labels("error").inc();
      throw e;
    }
  };
  return new Controller({
    name: "heartbeat",
    log: o.log,
    baseDelayMs: o.everyMs,
    maxDelayMs: o.everyMs,
    sources: [periodicSource("every", o.everyMs, "beat")],
    reconciler: beat,
  });
}

/** What vtep-republish needs. */
export interface VtepOptions {
  client: KumoClient;
  identity: HostIdentity;
  caches: Pick<AgentCaches, "hosts">;
  events: Pick<AgentEvents, "record">;
  /** Grace period before putting the annotations back (default 30 s). */
  republishMs?: number;
  log: Logger;
}

/** The `vtep-republish` loop: one key, queued by changes to this agent's Host and after the grace period. */
export class VtepLoop {
  readonly controller: Controller;
  /** Since when the cached Host lacks our VTEP (undefined: it has it). */
  missingSince?: number;
  republishedTotal = 0;
  /** resourceVersion of our last re-publish: an older cached copy still lacks the annotations. */
  private publishedRv = 0;

  constructor(private readonly o: VtepOptions) {
    const self = o.identity.name;
    this.controller = new Controller({
      name: "vtep-republish",
      log: o.log,
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      // Changes of our Host's annotations queue the key (not its heartbeats); the grace period's end is a requeue-after.
      sources: [
        informerSource("host", o.caches.hosts, (h, ev, old) => {
          if (h.metadata.name !== self) return undefined;
          const changed = ev !== "update" || JSON.stringify(old?.metadata.annotations) !== JSON.stringify(h.metadata.annotations);
          return changed ? self : undefined;
        }),
      ],
      reconciler: () => this.reconcile(),
    });
  }

  private async reconcile(): Promise<ReconcileResult> {
    const self = this.o.caches.hosts.get(this.o.identity.name);
    if (!self || Number(self.metadata.resourceVersion) < this.publishedRv) return;
    const grace = this.o.republishMs ?? 30_000;
    if (self.metadata.annotations?.[VTEP_IP_ANNOTATION] === this.o.identity.underlayIP) {
      this.missingSince = undefined;
      return;
    }
    if (this.missingSince === undefined) {
      this.missingSince = Date.now();
      const after = Math.round(grace / 1000);
      const why =
        `${VTEP_IP_ANNOTATION} was removed or changed by another writer; peers drop this host from the overlay until the agent ` +
        `re-publishes it in ${after}s (see kumo history host/${self.metadata.name})`;
      await this.o.events.record(self, "Warning", "VtepAnnotationsRemoved", why);
      this.o.log.warn({ republishInSeconds: after }, "VTEP annotations removed by another writer");
    }
    const left = this.missingSince + grace - Date.now();
    if (left > 0) return { requeueAfterMs: left };
    const h: Host = await publishVtep(this.o.client, this.o.identity);
    this.publishedRv = Number(h.metadata.resourceVersion);
    this.missingSince = undefined;
    this.republishedTotal++;
    const why = "the agent re-published its VTEP annotations; peers re-add this host to the overlay";
    await this.o.events.record(h, "Normal", "VtepAnnotationsRepublished", why);
  }

  /** State for /debug/state (the field tests and doctor read). */
  state() {
    return { missingSince: this.missingSince ? new Date(this.missingSince).toISOString() : null, republishedTotal: this.republishedTotal };
  }
}
