/**
 * Scheduler filters: pure functions from (host facts, request) to the FIRST reason the host cannot take the
 * instance, so an unschedulable instance can say "0/3 hosts: 2 insufficient memory, 1 NotReady" the way
 * Kubernetes counts nodes by their first failing predicate.
 */
import type { Resources } from "./resources.js";

/** What the filters need to know about one host (capacity and usage already resolved). */
export interface HostFacts {
  name: string;
  labels: Record<string, string>;
  ready: boolean;
  unschedulable: boolean;
  capacity: Resources;
  allocated: Resources;
  /** Anti-affinity groups with an instance on (or being placed on) this host. */
  groups: ReadonlySet<string>;
}

/** What an instance asks of a host. */
export interface PlacementRequest {
  resources: Resources;
  nodeSelector?: Record<string, string>;
  antiAffinityGroup?: string;
}

/** Why a host was filtered out, in the order the filters run. */
export const FILTER_ORDER = [
  "NotReady",
  "Unschedulable",
  "NodeSelectorMismatch",
  "InsufficientCpu",
  "InsufficientMemory",
  "TooManyInstances",
  "AntiAffinity",
] as const;

/** One filter failure. */
export type FilterFailure = (typeof FILTER_ORDER)[number];

/** Wording of each failure in the unschedulable message. */
const WORDS: Record<FilterFailure, string> = {
  NotReady: "NotReady",
  Unschedulable: "unschedulable (cordoned)",
  NodeSelectorMismatch: "node selector mismatch",
  InsufficientCpu: "insufficient cpu",
  InsufficientMemory: "insufficient memory",
  TooManyInstances: "too many instances",
  AntiAffinity: "anti-affinity group already present",
};

/** The first resource dimension `req` does not fit in (capacity − allocated), or undefined. */
export function resourceFailure(capacity: Resources, allocated: Resources, req: Resources): FilterFailure | undefined {
  if (allocated.cpu + req.cpu > capacity.cpu) return "InsufficientCpu";
  if (allocated.memoryMiB + req.memoryMiB > capacity.memoryMiB) return "InsufficientMemory";
  if (allocated.instances + req.instances > capacity.instances) return "TooManyInstances";
  return undefined;
}

/** True when every nodeSelector entry equals the host's label. */
export function selectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  // for..in, not Object.entries: this runs for every host of every decision and must not allocate.
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** The first filter `host` fails for `req`, or undefined when the host is feasible. */
export function firstFailure(host: HostFacts, req: PlacementRequest): FilterFailure | undefined {
  if (!host.ready) return "NotReady";
  if (host.unschedulable) return "Unschedulable";
  if (!selectorMatches(req.nodeSelector, host.labels)) return "NodeSelectorMismatch";
  const r = resourceFailure(host.capacity, host.allocated, req.resources);
  if (r) return r;
  if (req.antiAffinityGroup && host.groups.has(req.antiAffinityGroup)) return "AntiAffinity";
  return undefined;
}

/** Result of filtering every host. */
export interface FilterResult {
  feasible: HostFacts[];
  failures: Map<FilterFailure, number>;
}

/** Runs the filters over all hosts. */
export function filterHosts(hosts: Iterable<HostFacts>, req: PlacementRequest): FilterResult {
  const feasible: HostFacts[] = [];
  const failures = new Map<FilterFailure, number>();
  for (const h of hosts) {
    const f = firstFailure(h, req);
    if (f) failures.set(f, (failures.get(f) ?? 0) + 1);
    else feasible.push(h);
  }
  return { feasible, failures };
}

/**
 * "0/3 hosts: 2 insufficient memory, 1 NotReady": the most common reason first (ties in filter order), so
 * the reason that matters for most hosts is the one a reader sees first.
 */
export function unschedulableMessage(total: number, failures: Map<FilterFailure, number>): string {
  if (total === 0) return "0/0 hosts: no hosts are registered";
  const parts = [...failures]
    .sort((a, b) => b[1] - a[1] || FILTER_ORDER.indexOf(a[0]) - FILTER_ORDER.indexOf(b[0]))
    .map(([f, n]) => `${n} ${WORDS[f]}`);
  return `0/${total} hosts: ${parts.join(", ")}`;
}

/** The most common failure (the metric label of an Unschedulable decision). */
export function dominantFailure(failures: Map<FilterFailure, number>): FilterFailure | undefined {
  let best: [FilterFailure, number] | undefined;
  for (const f of FILTER_ORDER) {
    const n = failures.get(f) ?? 0;
    if (n > 0 && (!best || n > best[1])) best = [f, n];
  }
  return best?.[0];
}
