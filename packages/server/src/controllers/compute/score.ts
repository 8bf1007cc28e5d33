/**
 * Scheduler weights: pure scoring of feasible hosts. `spread` (default) prefers the host with the most
 * room left after placement (Kubernetes' LeastAllocated), so failures hit few instances; `pack` prefers the
 * fullest host (MostAllocated), so whole hosts stay free for big instances or maintenance.
 */
import { type FilterFailure, type HostFacts, type PlacementRequest, firstFailure } from "./filters.js";

/** Placement policy (`kumo server --schedule-policy`). */
export type SchedulePolicy = "spread" | "pack";

/** The policies, for option validation. */
export const SCHEDULE_POLICIES: readonly SchedulePolicy[] = ["spread", "pack"];

/**
 * 0..100: the host's desirability for `req` under `policy` (higher is better): the mean fraction of cpu,
 * memory and instance slots used after placement, over the dimensions the host limits. Written without
 * temporary arrays: it runs for every feasible host of every decision.
 */
export function scoreHost(host: HostFacts, req: PlacementRequest, policy: SchedulePolicy): number {
  const c = host.capacity;
  const a = host.allocated;
  const r = req.resources;
  let sum = 0;
  let n = 0;
  if (Number.isFinite(c.cpu) && c.cpu > 0) {
    sum += Math.min(1, (a.cpu + r.cpu) / c.cpu);
    n++;
  }
  if (Number.isFinite(c.memoryMiB) && c.memoryMiB > 0) {
    sum += Math.min(1, (a.memoryMiB + r.memoryMiB) / c.memoryMiB);
    n++;
  }
  if (Number.isFinite(c.instances) && c.instances > 0) {
    sum += Math.min(1, (a.instances + r.instances) / c.instances);
    n++;
  }
  const used = n ? sum / n : 0;
  return Math.round((policy === "pack" ? used : 1 - used) * 100_000) / 1000;
}

/**
 * The best feasible host, or undefined for an empty list. Ties go to the host with fewer instances, then to
 * the name, so equal hosts fill round-robin and decisions are reproducible in tests.
 */
export function pickHost(feasible: readonly HostFacts[], req: PlacementRequest, policy: SchedulePolicy): HostFacts | undefined {
  let best: HostFacts | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (const h of feasible) {
    const s = scoreHost(h, req, policy);
    if (s > bestScore || (s === bestScore && best && tieBreak(h, best) < 0)) {
      best = h;
      bestScore = s;
    }
  }
  return best;
}

/** Outcome of one pass over the hosts. */
export interface Choice {
  best?: HostFacts;
  /** Hosts excluded, by first failing filter (for the unschedulable message). */
  failures: Map<FilterFailure, number>;
  feasible: number;
}

/**
 * Filters and scores in one pass (the scheduler's hot path: 1,000 hosts per decision). `overlay` replaces
 * a host's facts by an adjusted copy (placements this scheduler has in flight) without copying the rest.
 */
export function chooseHost(
  hosts: Iterable<HostFacts>,
  req: PlacementRequest,
  policy: SchedulePolicy,
  overlay?: ReadonlyMap<string, HostFacts>,
): Choice {
  const failures = new Map<FilterFailure, number>();
  let best: HostFacts | undefined;
  let bestScore = Number.NEGATIVE_INFINITY;
  let feasible = 0;
  for (const base of hosts) {
    const h = overlay?.get(base.name) ?? base;
    const f = firstFailure(h, req);
    if (f) {
      failures.set(f, (failures.get(f) ?? 0) + 1);
      continue;
    }
    feasible++;
    const sc = scoreHost(h, req, policy);
    if (sc > bestScore || (sc === bestScore && best && tieBreak(h, best) < 0)) {
      best = h;
      bestScore = sc;
    }
  }
  return { best, failures, feasible };
}

function tieBreak(a: HostFacts, b: HostFacts): number {
  return a.allocated.instances - b.allocated.instances || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
