/**
 * Instance controller: everything about an Instance that is neither placement (scheduler) nor the host's
 * dataplane (agent).
 *
 * Create: adds the finalizer and records the resolved cpu/memory (RESOURCES_ANNOTATION) in one write (the
 * scheduler only places instances that have both), creates/adopts the Ports, reports PortBound and
 * status.addresses, and binds the ports to status.host once the scheduler has set it.
 *
 * Delete (deletionTimestamp): phase Terminating; then waits for the agent of status.host to confirm the
 * instance is gone. THE SIGNAL: the agent sets condition `Started` to status "False" with reason "Deleted"
 * after it has removed the container/VM and its devices. The controller does not wait when the instance was
 * never scheduled, or when its Host is missing or not Ready (a dead agent cannot confirm). Then it deletes
 * the ports, marks the reservation Released (Scheduled=False) BEFORE giving it back on the Host (so a crash
 * can only leak capacity, which the startup resync repairs, never release twice), and removes the finalizer.
 */
import {
  FlavorKind,
  HostKind,
  type Instance,
  type InstanceStatus,
  InstanceKind,
  PortKind,
  findCondition,
  isNotFound,
  setCondition,
  type Condition,
} from "@kumo/api";
import { Controller, type Enqueue, type ReconcileResult } from "@kumo/runtime";
import type { Logger } from "pino";
import type { Admission } from "../../apiserver/admission.js";
import { type Change, isChangeOf, LocalInformer } from "../../informers/local-informer.js";
import type { ObjectStore } from "../../registry/store.js";
import type { WatchCache } from "../../registry/watch-cache.js";
import type { EventRecorder } from "../../observability/events.js";
import { release } from "./host-allocation.js";
import { INSTANCE_CTX, type PortNote, bindPorts, ensurePorts, releasePorts } from "./instance-ports.js";
import {
  INSTANCE_FINALIZER,
  RELEASED_REASON,
  RESOURCES_ANNOTATION,
  encodeResources,
  formatResources,
  holdsReservation,
  hostReady,
  instanceResources,
  keyOf,
  resolveResources,
  splitKey,
} from "./resources.js";

/** How often a deleting instance re-checks while waiting for its agent (watch events usually come first). */
const AGENT_WAIT_RECHECK_MS = 10_000;

/** Reconciles Instances (see the file comment for the contract with the scheduler and the agent). */
export class InstanceController {
  readonly loop: Controller;
  private readonly informer: LocalInformer;
  /** instance key → reason → last Warning time. */
  private readonly warnedAt = new Map<string, Map<string, number>>();
  finalizedTotal = 0;

  constructor(
    private readonly store: ObjectStore,
    cache: WatchCache,
    private readonly admission: Admission,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {
    const kinds = [InstanceKind, PortKind, HostKind, FlavorKind];
    this.informer = new LocalInformer("compute", store, cache, kinds, (c, enqueue) => this.onChange(c, enqueue));
    this.loop = new Controller({
      name: "instance",
      log,
      workers: 8,
      sources: [this.informer],
      reconciler: (_ctx, key) => this.reconcile(key),
      debug: () => ({ instances: this.informer.count(InstanceKind), finalizedTotal: this.finalizedTotal }),
    });
  }

  private onChange(c: Change, enqueue: Enqueue): void {
    const { type, obj } = c;
    if (isChangeOf(c, InstanceKind)) {
      if (type !== "DELETED") enqueue(keyOf(obj));
      else this.warnedAt.delete(keyOf(obj));
    } else if (isChangeOf(c, PortKind)) {
      const owner = c.obj.spec?.deviceOwner;
      if (owner?.startsWith("instance:")) enqueue(`${obj.metadata.namespace}/${owner.slice("instance:".length)}`);
    } else if (isChangeOf(c, HostKind)) {
      // A host going NotReady (or away) unblocks the deletions waiting for its agent.
      if (type === "DELETED" || !c.prev || hostReady(c.prev) !== hostReady(c.obj)) {
        const onHost = (i: Instance) => i.status?.host === obj.metadata.name;
        for (const i of this.informer.list(InstanceKind)) if (onHost(i)) enqueue(keyOf(i));
      }
    } else if (c.kind === FlavorKind && type !== "DELETED") {
      const waits = (i: Instance) => i.spec?.flavor === obj.metadata.name && !instanceResources(i);
      for (const i of this.informer.list(InstanceKind)) if (waits(i)) enqueue(keyOf(i));
    }
  }

  /** One pass over one instance. */
  async reconcile(key: string): Promise<ReconcileResult> {
    const { namespace, name } = splitKey(key);
    let inst: Instance;
    try {
      inst = await this.store.get(InstanceKind, namespace, name);
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    if (inst.metadata.deletionTimestamp) return this.finalize(inst);
    const admitted = await this.admit(inst);
    if (!admitted) return { requeueAfterMs: 30_000 };
    // Deleted meanwhile (its deletion event queues the finalizer pass): create nothing more for it.
    if (admitted.metadata.deletionTimestamp || !(admitted.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER)) return;
    inst = admitted;
    const state = await ensurePorts(this.store, this.admission, inst);
    const noIp = state.ports.find((p) => !p.spec?.fixedIPs?.length);
    if (!state.problem && noIp) state.problem = { reason: "PortWithoutAddress", message: `port ${noIp.metadata.name} has no IP address` };
    await this.note(inst, state.notes);
    if (state.problem) await this.warn(inst, state.problem.reason, state.problem.message);
    const spec = inst.spec!;
    const cond: Condition = state.problem
      ? { type: "PortBound", status: "False", reason: state.problem.reason, message: state.problem.message }
      : !spec.networks?.length
        ? { type: "PortBound", status: "True", reason: "NoNetworks", message: "the instance has no networks" }
        : {
            type: "PortBound",
            status: "True",
            reason: "PortsReady",
            message: state.ports.map((p) => `${p.metadata.name} ${p.spec?.fixedIPs?.[0]?.ipAddress}`).join(", "),
          };
    const addresses = state.problem
      ? undefined
      : state.ports.map((p, i) => {
          const ps = p.spec!;
          return { network: spec.networks![i].network, ip: ps.fixedIPs![0].ipAddress, mac: ps.macAddress, port: p.metadata.name! };
        });
    inst = await this.writeStatus(inst, (st) => ({
      ...st,
      phase: st.phase ?? "Pending",
      conditions: setCondition(st.conditions, cond),
      ...(addresses ? { addresses } : {}),
    }));
    const host = inst.status?.host;
    if (host && !state.problem) await this.note(inst, await bindPorts(this.store, state.ports, host));
    if (state.problem) throw new Error(`${state.problem.reason}: ${state.problem.message}`); // retry with backoff
  }

  /** Adds the finalizer and the resolved size; undefined (after reporting why) when the flavor is missing. */
  private async admit(inst: Instance): Promise<Instance | undefined> {
    const has = (inst.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER);
    if (has && instanceResources(inst)) return inst;
    const spec = inst.spec!;
    let flavor: { cpu: number; memoryMiB: number } | undefined;
    if (spec.flavor) {
      try {
        flavor = (await this.store.get(FlavorKind, undefined, spec.flavor)).spec;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    const res = resolveResources(spec, flavor);
    const updated = await this.store.guaranteedUpdate(InstanceKind, inst.metadata.namespace, inst.metadata.name!, INSTANCE_CTX, (cur) => {
      if (cur.metadata.deletionTimestamp || cur.metadata.uid !== inst.metadata.uid) return cur;
      const md = cur.metadata;
      if (!(md.finalizers ?? []).includes(INSTANCE_FINALIZER)) md.finalizers = [...(md.finalizers ?? []), INSTANCE_FINALIZER];
      if (res && !instanceResources(cur)) md.annotations = { ...(md.annotations ?? {}), [RESOURCES_ANNOTATION]: encodeResources(res) };
      return cur;
    });
    if (!res) {
      const message = `flavor "${spec.flavor}" not found; the instance waits until it exists`;
      await this.writeStatus(updated, (st) => ({
        ...st,
        phase: st.phase ?? "Pending",
        conditions: setCondition(st.conditions, { type: "Scheduled", status: "False", reason: "FlavorNotFound", message }),
      }));
      await this.warn(updated, "FlavorNotFound", message);
      return undefined;
    }
    await this.events.record(
      updated,
      "Normal",
      "Accepted",
      `reserving ${formatResources(res)}${spec.flavor ? ` (flavor ${spec.flavor})` : ""}`,
    );
    return updated;
  }

  /** The deletion flow (see the file comment). */
  private async finalize(inst: Instance): Promise<ReconcileResult> {
    if (!(inst.metadata.finalizers ?? []).includes(INSTANCE_FINALIZER)) return;
    const st: InstanceStatus = inst.status ?? {};
    if (st.phase !== "Terminating") {
      inst = await this.writeStatus(inst, (s) => ({ ...s, phase: "Terminating" }));
      await this.events.record(
        inst,
        "Normal",
        "Terminating",
        st.host ? `waiting for the agent on host ${st.host} to remove the instance` : "the instance was never scheduled",
      );
    }
    const host = st.host;
    if (host) {
      const started = findCondition(st.conditions, "Started");
      const agentDone = started?.status === "False" && started.reason === "Deleted";
      const h = this.informer.get(HostKind, `/${host}`);
      if (!agentDone) {
        if (h && hostReady(h)) return { requeueAfterMs: AGENT_WAIT_RECHECK_MS };
        await this.events.record(
          inst,
          "Warning",
          "HostNotReady",
          `host ${host} is ${h ? "NotReady" : "gone"}: releasing the instance's ports and capacity without its agent's confirmation`,
        );
      }
    }
    await this.note(inst, await releasePorts(this.store, inst));
    const res = instanceResources(inst);
    if (host && res && holdsReservation(inst)) {
      let marked = false;
      const message = `released ${formatResources(res)} on host ${host}`;
      inst = await this.writeStatus(inst, (s) => {
        marked = findCondition(s.conditions, "Scheduled")?.status === "True";
        return marked
          ? { ...s, conditions: setCondition(s.conditions, { type: "Scheduled", status: "False", reason: RELEASED_REASON, message }) }
          : s;
      });
      if (marked) {
        await release(this.store, host, res, INSTANCE_CTX);
        await this.events.record(inst, "Normal", "HostReleased", message);
      }
    }
    await this.events.record(inst, "Normal", "Finalized", "ports and host capacity released; removing the finalizer");
    await this.store
      .guaranteedUpdate(InstanceKind, inst.metadata.namespace, inst.metadata.name!, INSTANCE_CTX, (cur) => {
        cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== INSTANCE_FINALIZER);
        return cur;
      })
      .catch((e) => {
        if (!isNotFound(e)) throw e;
      });
    this.finalizedTotal++;
    this.log.info({ instance: keyOf(inst), host }, "instance finalized");
  }

  private async writeStatus(inst: Instance, f: (st: InstanceStatus) => InstanceStatus): Promise<Instance> {
    const next = f(structuredClone(inst.status ?? {}));
    if (JSON.stringify(next) === JSON.stringify(inst.status ?? {})) return inst;
    return this.store.guaranteedUpdate(
      InstanceKind,
      inst.metadata.namespace,
      inst.metadata.name!,
      { ...INSTANCE_CTX, subresource: "status" },
      (cur) => {
        if (cur.metadata.uid !== inst.metadata.uid) return cur;
        return { ...cur, status: f(cur.status ?? {}) };
      },
    );
  }

  private async note(inst: Instance, notes: PortNote[]): Promise<void> {
    for (const n of notes) await this.events.record(inst, n.type, n.reason, n.message);
  }

  /** A Warning event, at most once per 30 s per instance and reason (reconciles of a broken instance retry often). */
  private async warn(inst: Instance, reason: string, message: string): Promise<void> {
    const byReason = this.warnedAt.get(keyOf(inst)) ?? new Map<string, number>();
    if (Date.now() - (byReason.get(reason) ?? 0) < 30_000) return;
    byReason.set(reason, Date.now());
    this.warnedAt.set(keyOf(inst), byReason);
    await this.events.record(inst, "Warning", reason, message);
  }
}
