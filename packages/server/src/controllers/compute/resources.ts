/**
 * What an instance costs and what a host has: the one place that turns Host and Instance objects into
 * numbers, so the scheduler, the reservation re-check, the release and the startup resync all count alike.
 */
import { findCondition, type Host, type Instance, type InstanceSpec, type KObject } from "@kumo/api";

/** Finalizer the instance controller holds until the instance's ports and host capacity are released. */
export const INSTANCE_FINALIZER = "compute.kumo.dev/instance";

/**
 * Annotation with the cpu/memory the instance reserves, written once by the instance controller (the flavor
 * resolved at admission time, as Nova embeds the flavor): reserve and release must subtract the same amount
 * even if the Flavor is later deleted or re-created with another size.
 */
export const RESOURCES_ANNOTATION = "compute.kumo.dev/resources";

/** Reason of the Scheduled=False condition written just before an instance's reservation is given back. */
export const RELEASED_REASON = "Released";

/** An amount of host capacity. `instances` is the instance-slot count. */
export interface Resources {
  cpu: number;
  memoryMiB: number;
  instances: number;
}

/** Nothing. */
export const ZERO: Resources = { cpu: 0, memoryMiB: 0, instances: 0 };

/** a + b. */
export function addResources(a: Resources, b: Resources): Resources {
  return { cpu: a.cpu + b.cpu, memoryMiB: a.memoryMiB + b.memoryMiB, instances: a.instances + b.instances };
}

/** a − b, never below zero (a release must not manufacture capacity). */
export function subResources(a: Resources, b: Resources): Resources {
  return {
    cpu: Math.max(0, a.cpu - b.cpu),
    memoryMiB: Math.max(0, a.memoryMiB - b.memoryMiB),
    instances: Math.max(0, a.instances - b.instances),
  };
}

/** Equal in every dimension. */
export function sameResources(a: Resources, b: Resources): boolean {
  return a.cpu === b.cpu && a.memoryMiB === b.memoryMiB && a.instances === b.instances;
}

/** "250m cpu, 64Mi memory" for messages and events. */
export function formatResources(r: Resources): string {
  return `${r.cpu}m cpu, ${r.memoryMiB}Mi memory`;
}

/** The cpu/memory an instance asks for: explicit spec values win over the flavor's; undefined when unresolved. */
export function resolveResources(spec: InstanceSpec, flavor?: { cpu: number; memoryMiB: number }): Resources | undefined {
  const cpu = spec.cpu ?? flavor?.cpu;
  const memoryMiB = spec.memoryMiB ?? flavor?.memoryMiB;
  if (cpu === undefined || memoryMiB === undefined) return undefined;
  return { cpu, memoryMiB, instances: 1 };
}

/** The instance's recorded reservation size (from RESOURCES_ANNOTATION); undefined until the controller wrote it. */
export function instanceResources(inst: KObject): Resources | undefined {
  const raw = inst.metadata.annotations?.[RESOURCES_ANNOTATION];
  if (!raw) return undefined;
  try {
    const r = JSON.parse(raw) as Partial<Resources>;
    if (!Number.isInteger(r.cpu) || !Number.isInteger(r.memoryMiB) || r.cpu! < 0 || r.memoryMiB! < 0) return undefined;
    return { cpu: r.cpu!, memoryMiB: r.memoryMiB!, instances: 1 };
  } catch {
    return undefined;
  }
}

/** Value of RESOURCES_ANNOTATION for `r`. */
export function encodeResources(r: Resources): string {
  return JSON.stringify({ cpu: r.cpu, memoryMiB: r.memoryMiB });
}

/**
 * A host's schedulable capacity: status.allocatable (what the agent measured) per dimension, else
 * spec.capacity (what the operator declared). Unknown cpu/memory is 0 (nothing fits a host that has not said
 * what it has); an unknown instance-slot count is unlimited.
 */
export function hostCapacity(host: Host): Resources {
  const a = host.status?.allocatable ?? {};
  const c = host.spec?.capacity ?? {};
  return {
    cpu: a.cpu ?? c.cpu ?? 0,
    memoryMiB: a.memoryMiB ?? c.memoryMiB ?? 0,
    instances: a.instances ?? c.instances ?? Number.POSITIVE_INFINITY,
  };
}

/** What is reserved on a host (status.allocated, written only by reservations and releases). */
export function hostAllocated(host: Host): Resources {
  const a = host.status?.allocated ?? {};
  return { cpu: a.cpu ?? 0, memoryMiB: a.memoryMiB ?? 0, instances: a.instances ?? 0 };
}

/** True when the host-lifecycle controller says the host's agent is heartbeating. */
export function hostReady(host: Host): boolean {
  return findCondition(host.status?.conditions, "Ready")?.status === "True";
}

/** True while the instance holds a reservation on status.host: bound (Scheduled=True) and not yet released. */
export function holdsReservation(inst: Instance): boolean {
  const st = inst.status;
  return !!st?.host && findCondition(st.conditions, "Scheduled")?.status === "True";
}

/** True for instances the scheduler must place: admitted by the instance controller, unbound, not deleting. */
export function needsScheduling(inst: Instance): boolean {
  const st = inst.status;
  return (
    !st?.host &&
    !inst.metadata.deletionTimestamp &&
    (inst.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER) &&
    !!instanceResources(inst)
  );
}

/** The work-queue key of an object (the informer's key): `namespace/name`, or `/name` when cluster-scoped. */
export { keyOf } from "../../informers/local-informer.js";

/** Splits a work-queue key. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return { namespace: key.slice(0, i) || undefined, name: key.slice(i + 1) };
}
