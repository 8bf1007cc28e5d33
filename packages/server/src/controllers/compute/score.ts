/**
 * Scheduler weights: pure scoring of feasible hosts. `spread` (default) prefers the host with the most
 * room left after placement (Kubernetes' LeastAllocated), so failures hit few instances; `pack` prefers the
 * fullest host (MostAllocated), so whole hosts stay free for big instances or maintenance.
 */
import type { HostFacts, PlacementRequest } from "./filters.js";

/** Placement policy (`kumo server --schedule-policy`). */
export type SchedulePolicy = "spread" | "pack";

/** The policies, for option validation. */
export const SCHEDULE_POLICIES: readonly SchedulePolicy[] = ["spread", "pack"];

/** Fraction of `cap` used after adding `req`; dimensions without a finite capacity do not count. */
function usedAfter(cap: number, used: number, req: number): number | undefined {
  if (!Number.isFinite(cap) || cap <= 0) return undefined;
  return Math.min(1, (used + req) / cap);
}

/** 0..100: the host's desirability for `req` under `policy` (higher is better). */
export function scoreHost(host: HostFacts, req: PlacementRequest, policy: SchedulePolicy): number {
  const fractions = [
    usedAfter(host.capacity.cpu, host.allocated.cpu, req.resources.cpu),
    usedAfter(host.capacity.memoryMiB, host.allocated.memoryMiB, req.resources.memoryMiB),
    usedAfter(host.capacity.instances, host.allocated.instances, req.resources.instances),
  ].filter((f): f is number => f !== undefined);
  const used = fractions.length ? fractions.reduce((a, b) => a + b, 0) / fractions.length : 0;
  return Math.round((policy === "pack" ? used : 1 - used) * 100 * 1000) / 1000;
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

function tieBreak(a: HostFacts, b: HostFacts): number {
  return a.allocated.instances - b.allocated.instances || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}
