/**
 * LinuxNetworkDriver: makes the kernel of one host (a netns, or the current one) hold exactly the
 * desired overlay (bridges, VXLAN devices, addresses, flood/FDB/neighbour entries, routes).
 * Level-triggered: every sync reads the whole kumo-owned state back (`ip -json`, `bridge -json`,
 * 2 processes in parallel), diffs it (diff.ts, pure), and writes only the difference through
 * `ip -batch` and `bridge -batch` (≤ 2 more processes). Syncs are serialised per driver.
 *
 * snapshot() feeds /metrics and /debug/state; suggested Prometheus names (labels network, kind):
 *   kumo_agent_network_entries_desired   ← networks[n].kinds[k].desired
 *   kumo_agent_network_entries_actual    ← networks[n].kinds[k].actual
 *   kumo_agent_network_drift_repairs_total ← networks[n].kinds[k].driftRepairsTotal (sum: driftRepairsTotal)
 *   kumo_agent_network_syncs_total / _sync_errors_total ← syncs / syncErrors
 *   kumo_agent_network_writes_total / _write_failures_total ← writesTotal / writeFailuresTotal
 *   kumo_agent_network_last_sync_duration_seconds ← lastSync.durationMs / 1000
 *   kumo_agent_network_last_sync_timestamp_seconds ← Date.parse(lastSync.at) / 1000
 */
import { runOk } from "@kumo/runtime/proc";
import { IPROUTE_TIMEOUT_MS, nsArgs, runBatch, type BatchResult } from "./batch.js";
import { diff, type AppliedState, type PlannedLine } from "./diff.js";
import { parseObserved, toHostState, type ObservedHost } from "./ip-json.js";
import {
  BRIDGE_PREFIX,
  ENTRY_KINDS,
  KUMO_ROUTE_PROTO,
  VXLAN_PREFIX,
  type EntryKind,
  type HostNetworkState,
  type KindSnapshot,
  type Logger,
  type NetworkDriver,
  type NetworkDriverSnapshot,
  type NetworkSyncReport,
  type SyncReport,
} from "./types.js";
import { validateDesired } from "./validate.js";

/** Refused lines quoted in a SyncReport; the rest are only counted. */
const MAX_ERRORS = 20;

/** Options of LinuxNetworkDriver. */
export interface LinuxNetworkDriverOptions {
  /** Network namespace to program (`ip -n NS`); undefined = the agent's own netns. */
  netns?: string;
  logger?: Logger;
}

export type { KindSnapshot, NetworkDriverSnapshot } from "./types.js";

/** Programs and reads back the kumo overlay of one host. */
export class LinuxNetworkDriver implements NetworkDriver {
  private readonly netns: string | undefined;
  private readonly log: Logger;
  private lastApplied: AppliedState = new Map();
  private queue: Promise<unknown> = Promise.resolve();
  private stats = { syncs: 0, syncErrors: 0, writesTotal: 0, writeFailuresTotal: 0, driftRepairsTotal: 0 };
  private lastSync: NetworkDriverSnapshot["lastSync"] = null;
  private lastSyncEnd = 0;
  private networks: NetworkDriverSnapshot["networks"] = {};
  private repairsByNetwork = new Map<string, Record<EntryKind, number>>();

  constructor(opts: LinuxNetworkDriverOptions = {}) {
    this.netns = opts.netns;
    this.log = opts.logger ?? {};
  }

  /** Runs `fn` after every earlier call finished, so two syncs never interleave their batches. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Reads every kumo-owned device and entry: one `ip -batch` and one `bridge` process, in parallel. */
  private async read(): Promise<ObservedHost> {
    const ipRead = "addr show\nneigh show nud permanent\nroute show table main proto " + KUMO_ROUTE_PROTO + "\n";
    const [ipOut, fdbOut] = await Promise.all([
      runOk("ip", [...nsArgs(this.netns), "-json", "-details", "-batch", "-"], { input: ipRead, timeoutMs: IPROUTE_TIMEOUT_MS }),
      runOk("bridge", [...nsArgs(this.netns), "-json", "fdb", "show"], { timeoutMs: IPROUTE_TIMEOUT_MS }),
    ]);
    return parseObserved(ipOut.stdout, fdbOut.stdout);
  }

  /** The kumo-owned dataplane as the kernel holds it, in the desired-state shape. */
  observe(): Promise<HostNetworkState> {
    return this.serial(async () => toHostState(await this.read()));
  }

  /** Makes the kernel match `desired` (networks absent from it are deleted) and reports what changed. */
  sync(desired: HostNetworkState): Promise<SyncReport> {
    return this.serial(async () => {
      const started = performance.now();
      const startedAt = new Date().toISOString();
      try {
        const want = validateDesired(desired);
        const observed = await this.read();
        const t1 = performance.now();
        const plan = diff(want, observed, this.lastApplied);
        const t2 = performance.now();
        // Steps run in order, the batches inside a step in parallel. A new VXLAN device must exist
        // before its FDB entries, so then the bridge batch waits. (Splitting devices from
        // neighbours to overlap neighbours with FDB was measured slower on 2 cores: one spawn more.)
        const ipAll: PlannedLine[] = [...plan.linkLines, ...plan.ipLines];
        const steps: ["ip" | "bridge", PlannedLine[]][][] = plan.bridgeAfterIp
          ? [[["ip", ipAll]], [["bridge", plan.bridgeLines]]]
          : [
              [
                ["ip", ipAll],
                ["bridge", plan.bridgeLines],
              ],
            ];
        const gaps = new Map<string, number>();
        const errors: string[] = [...plan.problems];
        let spawns = 2;
        for (const step of steps) {
          const batches = step.filter(([, lines]) => lines.length > 0);
          spawns += batches.length;
          const results = await Promise.all(
            batches.map(([tool, lines]) =>
              runBatch(
                tool,
                this.netns,
                lines.map((l) => l.line),
              ),
            ),
          );
          batches.forEach(([, lines], i) => errors.push(...this.account(plan.reports, plan.applied, lines, results[i], gaps)));
        }
        const t3 = performance.now();
        this.lastApplied = plan.applied;
        const writes = plan.linkLines.length + plan.ipLines.length + plan.bridgeLines.length;
        const report: SyncReport = {
          startedAt,
          durationMs: t3 - started,
          phasesMs: { observe: t1 - started, diff: t2 - t1, apply: t3 - t2 },
          networks: plan.reports,
          writes,
          spawns,
          driftRepairs: plan.reports.reduce((s, r) => s + ENTRY_KINDS.reduce((t, k) => t + r.kinds[k].repaired, 0), 0),
          failedWrites: errors.length - plan.problems.length,
          // One missing underlay device can refuse thousands of lines: keep the report readable.
          errors: errors.length > MAX_ERRORS ? [...errors.slice(0, MAX_ERRORS), `... and ${errors.length - MAX_ERRORS} more`] : errors,
        };
        this.record(report, gaps);
        if (report.driftRepairs || errors.length)
          this.log.warn?.(
            { netns: this.netns, driftRepairs: report.driftRepairs, errors: report.errors },
            "network sync repaired drift or had errors",
          );
        else if (writes) this.log.info?.({ netns: this.netns, writes, ms: report.durationMs }, "network sync applied changes");
        return report;
      } catch (e) {
        this.stats.syncs++;
        this.stats.syncErrors++;
        this.lastSync = { at: startedAt, durationMs: performance.now() - started, ok: false, writes: 0, error: String(e) };
        this.lastSyncEnd = Date.now();
        throw e;
      }
    });
  }

  /** Marks refused lines in the reports and drops their entries from the drift baseline. */
  private account(
    reports: NetworkSyncReport[],
    applied: AppliedState,
    lines: PlannedLine[],
    result: BatchResult,
    gaps: Map<string, number>,
  ): string[] {
    const errors: string[] = [];
    const failed = new Map(result.failures);
    if (result.aborted) {
      // Lines up to the last reported failure ran; the rest may not have: treat them as refused,
      // so they are neither counted as present nor used as the drift baseline.
      const from = Math.max(-1, ...failed.keys()) + 1;
      for (let i = from; i < lines.length; i++) failed.set(i, result.aborted);
    }
    for (const [i, msg] of failed) {
      const l = lines[i];
      if (!l) continue;
      errors.push(`${l.line}: ${msg}`);
      // Only deleting an undesired network removes a bridge/VXLAN device; a same-named desired network may coexist.
      const ofGone = l.op === "remove" && (l.kind === "bridge" || l.kind === "vxlan");
      const r = reports.find((x) => x.name === l.network && x.removed === ofGone);
      if (r) r.kinds[l.kind].failed++;
      if (l.op !== "remove") applied.get(l.network)?.[l.kind].delete(l.key);
      // gaps: how far the kernel's count is from desired (a failed add is missing, a failed remove stays).
      const g = `${l.network}/${l.kind}`;
      if (l.op !== "update") gaps.set(g, (gaps.get(g) ?? 0) + (l.op === "add" ? -1 : 1));
    }
    return errors;
  }

  /** Folds a finished sync into the snapshot counters. */
  private record(r: SyncReport, gaps: Map<string, number>): void {
    this.stats.syncs++;
    this.stats.writesTotal += r.writes;
    this.stats.writeFailuresTotal += r.failedWrites;
    this.stats.driftRepairsTotal += r.driftRepairs;
    this.lastSync = { at: r.startedAt, durationMs: r.durationMs, ok: r.errors.length === 0, writes: r.writes };
    this.lastSyncEnd = Date.now();
    const networks: NetworkDriverSnapshot["networks"] = {};
    for (const n of r.networks) {
      if (n.removed) {
        this.repairsByNetwork.delete(n.name);
        continue;
      }
      const repairs =
        this.repairsByNetwork.get(n.name) ?? (Object.fromEntries(ENTRY_KINDS.map((k) => [k, 0])) as Record<EntryKind, number>);
      this.repairsByNetwork.set(n.name, repairs);
      const kinds = {} as Record<EntryKind, KindSnapshot>;
      for (const k of ENTRY_KINDS) {
        const c = n.kinds[k];
        repairs[k] += c.repaired;
        const actual = n.problem ? c.actualBefore : c.desired + (gaps.get(`${n.name}/${k}`) ?? 0);
        kinds[k] = { desired: c.desired, actual, driftRepairsTotal: repairs[k] };
      }
      networks[n.name] = { kinds };
    }
    this.networks = networks;
  }

  /** Deletes one network's bridge and VXLAN device (found by name alias or bridge name). */
  removeNetwork(name: string): Promise<boolean> {
    return this.serial(async () => {
      const o = await this.read();
      const br = [...o.bridges.values()].find((b) => b.network === name || b.name === name);
      if (!br) return false;
      const vx = VXLAN_PREFIX + br.name.slice(BRIDGE_PREFIX.length);
      const lines = [...(o.vxlans.has(vx) ? [`link del dev ${vx}`] : []), `link del dev ${br.name}`];
      const r = await runBatch("ip", this.netns, lines);
      if (r.failures.size || r.aborted) throw new Error(`removeNetwork ${name}: ${[...r.failures.values(), r.aborted ?? ""].join("; ")}`);
      this.lastApplied.delete(name);
      this.repairsByNetwork.delete(name);
      delete this.networks[name];
      return true;
    });
  }

  /** Plain-JSON internal state (see the file comment for metric names). */
  snapshot(): NetworkDriverSnapshot {
    return {
      netns: this.netns ?? null,
      ...this.stats,
      lastSync: this.lastSync,
      lastSyncAgeSeconds: this.lastSyncEnd ? (Date.now() - this.lastSyncEnd) / 1000 : null,
      networks: structuredClone(this.networks),
    };
  }
}
