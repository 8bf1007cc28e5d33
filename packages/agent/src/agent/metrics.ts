/** The agent's Prometheus metrics (kumo_agent_*), fed from driver reports and snapshots. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { SyncReport } from "../network/types.js";
import type { NetworkDriverSnapshot } from "../network/linux-driver.js";
import type { DnsmasqSnapshot } from "../dhcp/dnsmasq.js";

/** All agent metrics on one registry. */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly entries = new Gauge({
    name: "kumo_agent_dataplane_entries",
    help: "Dataplane objects per network and kind, desired vs actual (read back from the kernel)",
    labelNames: ["network", "kind", "state"],
    registers: [this.registry],
  });
  readonly driftRepairs = new Counter({
    name: "kumo_agent_drift_repairs_total",
    help: "Entries that vanished or changed behind the agent's back and were restored",
    labelNames: ["network", "kind"],
    registers: [this.registry],
  });
  readonly syncs = new Counter({
    name: "kumo_agent_syncs_total",
    help: "Dataplane syncs by result (skipped: an event left the desired dataplane as the last clean sync made it)",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly syncSeconds = new Histogram({
    name: "kumo_agent_sync_duration_seconds",
    help: "Duration of one dataplane sync (read, diff, batch write)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly lastSyncAge = new Gauge({
    name: "kumo_agent_last_sync_age_seconds",
    help: "Seconds since the last successful dataplane sync",
    registers: [this.registry],
  });
  readonly writes = new Counter({
    name: "kumo_agent_dataplane_writes_total",
    help: "Batch lines written to the kernel",
    registers: [this.registry],
  });
  readonly leases = new Gauge({
    name: "kumo_agent_dnsmasq_leases",
    help: "Active DHCP leases per network",
    labelNames: ["network"],
    registers: [this.registry],
  });
  readonly dhcpMessages = new Gauge({
    name: "kumo_agent_dhcp_messages",
    help: "DHCP messages seen in dnsmasq's log per network and type (cumulative)",
    labelNames: ["network", "type"],
    registers: [this.registry],
  });
  readonly dnsmasqRunning = new Gauge({
    name: "kumo_agent_dnsmasq_running",
    help: "1 when the network's dnsmasq is running",
    labelNames: ["network"],
    registers: [this.registry],
  });
  readonly heartbeats = new Counter({
    name: "kumo_agent_heartbeats_total",
    help: "Heartbeats sent by result",
    labelNames: ["result"],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "kumo_agent_reconcile_errors_total",
    help: "Reconcile passes that failed, by stage",
    labelNames: ["stage"],
    registers: [this.registry],
  });
  readonly probes = new Gauge({
    name: "kumo_agent_probe_ports",
    help: "Probe namespaces plugged behind ports",
    registers: [this.registry],
  });
  readonly problems = new Gauge({
    name: "kumo_agent_problems",
    help: "Desired-state problems (e.g. a peer host without VTEP annotations)",
    labelNames: ["reason"],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "kumo_agent_process_" });
    // Every series from the start, at zero (labels() alone creates none), so rate() and alerts see the first event.
    for (const r of ["ok", "error"]) {
      this.syncs.labels(r).inc(0);
      this.heartbeats.labels(r).inc(0);
    }
    this.syncs.labels("skipped").inc(0); // an event that left this host's desired dataplane unchanged
    for (const s of ["sync", "dhcp", "probe", "dhcp-port", "status"]) this.reconcileErrors.labels(s).inc(0);
  }

  /** Counts a sync report. */
  observeSync(r: SyncReport): void {
    this.syncs.labels(r.failedWrites ? "error" : "ok").inc();
    this.syncSeconds.observe(r.durationMs / 1000);
    this.writes.inc(r.writes);
    for (const n of r.networks)
      for (const [kind, c] of Object.entries(n.kinds)) if (c.repaired) this.driftRepairs.labels(n.name, kind).inc(c.repaired);
  }

  /** Refreshes gauges from the drivers' snapshots (called before each scrape). */
  refresh(net: NetworkDriverSnapshot, dns: DnsmasqSnapshot): void {
    this.entries.reset();
    for (const [name, n] of Object.entries(net.networks)) {
      for (const [kind, k] of Object.entries(n.kinds)) {
        this.entries.labels(name, kind, "desired").set(k.desired);
        this.entries.labels(name, kind, "actual").set(k.actual);
      }
    }
    this.lastSyncAge.set(net.lastSyncAgeSeconds ?? -1);
    this.leases.reset();
    this.dhcpMessages.reset();
    this.dnsmasqRunning.reset();
    for (const [name, d] of Object.entries(dns.networks)) {
      this.leases.labels(name).set(d.leases);
      this.dnsmasqRunning.labels(name).set(d.running ? 1 : 0);
      for (const [type, v] of Object.entries(d.counters) as [string, number][]) this.dhcpMessages.labels(name, type).set(v);
    }
  }
}
