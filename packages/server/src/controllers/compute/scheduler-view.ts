/**
 * What one scheduler believes about hosts (kube-scheduler's cache): the informer's Hosts turned into filter
 * facts, the anti-affinity groups of bound instances, and the placements this scheduler has ASSUMED but
 * whose reservation the informer's Host does not show yet. Decisions read it synchronously, so two
 * decisions of one scheduler never pick the same last slot; across schedulers the reservation re-check
 * decides.
 */
import type { Host, Instance } from "@kumo/api";
import type { HostFacts } from "./filters.js";
import { type Resources, addResources, hostAllocated, hostCapacity, hostReady, keyOf, ZERO } from "./resources.js";

/** A placement decided but not yet visible in the informer's Host (or still being bound). */
export interface Assumption {
  host: string;
  resources: Resources;
  group?: string;
  /** resourceVersion of the Host write that committed it: a Host at or past it already counts it. */
  committedRv?: number;
}

const NO_GROUPS: ReadonlySet<string> = new Set();

/** Hosts, groups and assumed placements of one scheduler. */
export class SchedulerView {
  private readonly facts = new Map<string, HostFacts>();
  private readonly rv = new Map<string, number>();
  /** antiAffinityGroup → instance key → host, for bound instances. */
  private readonly groups = new Map<string, Map<string, string>>();
  private readonly assumed = new Map<string, Assumption>();

  /** Records a Host; true when the change could make a refused instance fit (so refused ones are retried). */
  setHost(obj: Host): boolean {
    const name = obj.metadata.name!;
    const f: HostFacts = {
      name,
      labels: obj.metadata.labels ?? {},
      ready: hostReady(obj),
      unschedulable: !!obj.spec?.unschedulable,
      capacity: hostCapacity(obj),
      allocated: hostAllocated(obj),
      groups: NO_GROUPS,
    };
    const b = this.facts.get(name);
    this.facts.set(name, f);
    this.rv.set(name, Number(obj.metadata.resourceVersion));
    // Heartbeats change hosts every few seconds: only more room, readiness, cordon or labels are news.
    return (
      !b ||
      f.ready !== b.ready ||
      f.unschedulable !== b.unschedulable ||
      JSON.stringify(f.labels) !== JSON.stringify(b.labels) ||
      f.capacity.cpu !== b.capacity.cpu ||
      f.capacity.memoryMiB !== b.capacity.memoryMiB ||
      f.capacity.instances !== b.capacity.instances ||
      f.allocated.cpu < b.allocated.cpu ||
      f.allocated.memoryMiB < b.allocated.memoryMiB ||
      f.allocated.instances < b.allocated.instances
    );
  }

  /** Forgets a deleted Host. */
  deleteHost(name: string): void {
    this.facts.delete(name);
    this.rv.delete(name);
  }

  /** Follows an instance's anti-affinity membership; true when a bound member went away (a slot freed). */
  setInstance(obj: Instance, deleted: boolean): boolean {
    const group = obj.spec?.antiAffinityGroup;
    if (!group) return false;
    const key = keyOf(obj);
    const host = obj.status?.host;
    const m = this.groups.get(group) ?? new Map<string, string>();
    const had = m.has(key);
    if (deleted || !host) m.delete(key);
    else m.set(key, host);
    if (m.size) this.groups.set(group, m);
    else this.groups.delete(group);
    return had && !m.has(key);
  }

  /** Every host as the informer has it. */
  hosts(): IterableIterator<HostFacts> {
    return this.facts.values();
  }

  /** Number of hosts. */
  get size(): number {
    return this.facts.size;
  }

  /** Records a decision before it is committed. */
  assume(key: string, a: Assumption): void {
    this.assumed.set(key, a);
  }

  /** Drops a decision once bound (the informer has the instance) or abandoned. */
  forget(key: string): void {
    this.assumed.delete(key);
  }

  /**
   * Adjusted facts for the hosts that in-flight placements (and members of `group`) touch; every other host
   * is used unchanged, so a decision copies a handful of hosts, not a thousand.
   */
  overlay(group: string | undefined): Map<string, HostFacts> | undefined {
    const extra = new Map<string, Resources>();
    const withGroup = new Set<string>();
    for (const a of this.assumed.values()) {
      const rv = this.rv.get(a.host);
      if (rv === undefined) continue;
      if (a.committedRv === undefined || rv < a.committedRv) extra.set(a.host, addResources(extra.get(a.host) ?? ZERO, a.resources));
      if (group && a.group === group) withGroup.add(a.host);
    }
    if (group) for (const host of this.groups.get(group)?.values() ?? []) withGroup.add(host);
    if (!extra.size && !withGroup.size) return undefined;
    const groupSet: ReadonlySet<string> = group ? new Set([group]) : NO_GROUPS;
    const out = new Map<string, HostFacts>();
    for (const name of new Set([...extra.keys(), ...withGroup])) {
      const f = this.facts.get(name);
      if (!f) continue;
      const add = extra.get(name);
      out.set(name, {
        ...f,
        allocated: add ? addResources(f.allocated, add) : f.allocated,
        groups: withGroup.has(name) ? groupSet : NO_GROUPS,
      });
    }
    return out;
  }

  /** In-flight placements: instance key → host (for /debug/state). */
  inFlight(): Record<string, string> {
    return Object.fromEntries([...this.assumed].map(([k, a]) => [k, a.host]));
  }
}
