/**
 * Host capacity accounting: Host status.allocated is the one counter every placement is committed against.
 *
 * - reserve: guaranteedUpdate of the Host's /status that RE-CHECKS capacity (and Ready/cordon) on the latest
 *   version inside the mutate, so two schedulers, a retry, or a scheduler with a stale cache can never push a
 *   host over capacity: whoever writes second sees the first one's reservation.
 * - release: the same loop, subtracting (never below zero).
 * - resync (server start only): recomputes every host's counter from the instances that hold a reservation
 *   (status.host set and Scheduled=True). The writes around a placement are ordered so that a crash can only
 *   LEAK capacity (reserve → crash before bind; mark Released → crash before release), never double-release,
 *   and the resync gives leaked capacity back. It must run before any scheduler starts (no reservation may be
 *   in flight), which is why server.ts calls it once and no scheduler calls it.
 */
import { type Host, HostKind, type Instance, InstanceKind, isNotFound } from "@kumo/api";
import type { Logger } from "pino";
import type { ObjectStore, WriteContext } from "../../registry/store.js";
import { type FilterFailure, resourceFailure } from "./filters.js";
import {
  type Resources,
  addResources,
  holdsReservation,
  hostAllocated,
  hostCapacity,
  hostReady,
  instanceResources,
  sameResources,
  subResources,
  ZERO,
} from "./resources.js";

/** Thrown by reserve when the latest Host cannot take the request; carries that Host so caches can catch up. */
export class ReservationRefused extends Error {
  constructor(
    readonly host: Host,
    readonly failure: FilterFailure,
  ) {
    super(`host "${host.metadata.name}" refused the reservation: ${failure}`);
    this.name = "ReservationRefused";
  }
}

function withAllocated(host: Host, allocated: Resources): Host {
  const st = host.status ?? {};
  const a = { cpu: allocated.cpu, memoryMiB: allocated.memoryMiB, instances: allocated.instances };
  return { ...host, status: { ...st, allocated: a } };
}

/** Adds `req` to the host's allocation if it still fits on the latest version; returns the updated Host. */
export function reserve(store: ObjectStore, hostName: string, req: Resources, ctx: WriteContext): Promise<Host> {
  return store.guaranteedUpdate(HostKind, undefined, hostName, { ...ctx, subresource: "status" }, (cur) => {
    if (!hostReady(cur)) throw new ReservationRefused(cur, "NotReady");
    if (cur.spec?.unschedulable) throw new ReservationRefused(cur, "Unschedulable");
    const used = hostAllocated(cur);
    const failure = resourceFailure(hostCapacity(cur), used, req);
    if (failure) throw new ReservationRefused(cur, failure);
    return withAllocated(cur, addResources(used, req));
  });
}

/** Gives `req` back to the host; undefined when the host no longer exists (nothing to give back to). */
export async function release(store: ObjectStore, hostName: string, req: Resources, ctx: WriteContext): Promise<Host | undefined> {
  try {
    return await store.guaranteedUpdate(HostKind, undefined, hostName, { ...ctx, subresource: "status" }, (cur) =>
      withAllocated(cur, subResources(hostAllocated(cur), req)),
    );
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** What resync changed on one host. */
export interface ResyncRepair {
  host: string;
  was: Resources;
  now: Resources;
}

/** Sums the reservations instances hold, by host. */
export function heldByHost(instances: Instance[]): Map<string, Resources> {
  const held = new Map<string, Resources>();
  for (const inst of instances) {
    if (!holdsReservation(inst)) continue;
    const r = instanceResources(inst);
    if (!r) continue;
    const host = inst.status!.host!;
    held.set(host, addResources(held.get(host) ?? ZERO, r));
  }
  return held;
}

/** Recomputes every Host's status.allocated from the instances holding reservations (see the file comment). */
export async function resyncAllocations(store: ObjectStore, ctx: WriteContext, log: Logger): Promise<ResyncRepair[]> {
  const held = heldByHost((await store.list(InstanceKind, undefined)).items);
  const repairs: ResyncRepair[] = [];
  for (const host of (await store.list(HostKind, undefined)).items) {
    const name = host.metadata.name!;
    const want = held.get(name) ?? ZERO;
    const st = host.status ?? {};
    if (st.allocated === undefined && sameResources(want, ZERO)) continue;
    const was = hostAllocated(host);
    if (sameResources(was, want)) continue;
    try {
      await store.guaranteedUpdate(HostKind, undefined, name, { ...ctx, subresource: "status" }, (cur) => withAllocated(cur, want));
      repairs.push({ host: name, was, now: want });
      log.warn({ host: name, was, now: want }, "host allocation repaired from bound instances");
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return repairs;
}
