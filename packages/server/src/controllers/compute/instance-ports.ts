/**
 * An instance's Ports: created (named `<instance>-<network>`, owned by the instance) or adopted
 * (`spec.networks[i].port`), bound to the instance's host once it is scheduled, and deleted or handed back
 * when the instance goes. Creation goes through admission so the port gets its MAC and IP from IPAM exactly
 * as a user's port would.
 */
import { ApiError, type Instance, InstanceKind, isNotFound, type KObject, type Port, PortKind, apiVersionOfKind } from "@kumo/api";
import type { Admission } from "../../apiserver/admission.js";
import { mergePatch } from "../../registry/patch.js";
import type { ObjectStore, WriteContext } from "../../registry/store.js";

/** Field manager of everything the instance controller writes. */
export const INSTANCE_CTX: WriteContext = { user: "system:kumo-instance-controller", manager: "kumo-instance-controller" };

/** A step that happened (becomes a Normal event) or a problem (a Warning event and PortBound=False). */
export interface PortNote {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/** The instance's ports in `spec.networks` order, and why some are missing. */
export interface PortState {
  ports: Port[];
  problem?: { reason: string; message: string };
  notes: PortNote[];
}

/** `instance:<name>`: the deviceOwner of an instance's ports. */
export function deviceOwnerOf(inst: KObject): string {
  return `instance:${inst.metadata.name}`;
}

/** Name of the port kumo creates for `network`. */
export function portNameFor(inst: KObject, network: string): string {
  return `${inst.metadata.name}-${network}`;
}

function ownedBy(port: KObject, inst: KObject): boolean {
  return (port.metadata.ownerReferences ?? []).some((r) => r.uid === inst.metadata.uid);
}

/** Creates or adopts every port of `inst`; returns what exists now. Never throws for a user error (bad network, port in use). */
export async function ensurePorts(store: ObjectStore, admission: Admission, inst: Instance): Promise<PortState> {
  const ns = inst.metadata.namespace!;
  const spec = inst.spec!;
  const state: PortState = { ports: [], notes: [] };
  const owner = deviceOwnerOf(inst);
  for (const net of spec.networks ?? []) {
    const adopt = net.port;
    const name = adopt ?? portNameFor(inst, net.network);
    let port: Port | undefined;
    try {
      port = await store.get(PortKind, ns, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (adopt) {
      if (!port)
        return { ...state, problem: { reason: "PortNotFound", message: `port "${adopt}" (spec.networks[${net.network}].port) not found` } };
      const ps = port.spec!;
      if (ps.network !== net.network)
        return {
          ...state,
          problem: { reason: "PortNetworkMismatch", message: `port "${adopt}" is on network "${ps.network}", not "${net.network}"` },
        };
      if (ps.deviceOwner && ps.deviceOwner !== owner)
        return { ...state, problem: { reason: "PortInUse", message: `port "${adopt}" is in use by ${ps.deviceOwner}` } };
      if (ps.deviceOwner !== owner) {
        port = await store.guaranteedUpdate(
          PortKind,
          ns,
          name,
          INSTANCE_CTX,
          (cur) => mergePatch(cur, { spec: { deviceOwner: owner } }) as Port,
        );
        state.notes.push({ type: "Normal", reason: "PortAdopted", message: `adopted port ${name} on network ${net.network}` });
      }
    } else if (port) {
      if (!ownedBy(port, inst))
        return {
          ...state,
          problem: {
            reason: "PortConflict",
            message:
              `port "${name}" already exists and does not belong to this instance; ` + "name the port in spec.networks[].port to adopt it",
          },
        };
    } else {
      const desired: Port = {
        apiVersion: apiVersionOfKind(PortKind),
        kind: "Port",
        metadata: {
          name,
          namespace: ns,
          labels: { "compute.kumo.dev/instance": inst.metadata.name! },
          ownerReferences: [
            {
              apiVersion: apiVersionOfKind(InstanceKind),
              kind: "Instance",
              name: inst.metadata.name!,
              uid: inst.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { network: net.network, deviceOwner: owner, ...hostBinding(inst) },
      };
      try {
        port = await admission.create(PortKind, ns, desired, INSTANCE_CTX);
      } catch (e) {
        if (e instanceof ApiError && e.code < 500 && e.reason !== "AlreadyExists")
          return { ...state, problem: { reason: "PortCreateFailed", message: `port for network "${net.network}": ${e.message}` } };
        throw e; // AlreadyExists (a racing reconcile) and server errors: retry with backoff
      }
      const ps = port.spec!;
      state.notes.push({
        type: "Normal",
        reason: "PortCreated",
        message: `created port ${name} on network ${net.network} (${ps.fixedIPs?.[0]?.ipAddress ?? "no IP"}, ${ps.macAddress ?? "no MAC"})`,
      });
    }
    state.ports.push(port);
  }
  return state;
}

function hostBinding(inst: Instance): { hostBinding?: string } {
  const host = inst.status?.host;
  return host ? { hostBinding: host } : {};
}

/** Sets spec.hostBinding of every port to the instance's host (merge patch as `kumo-instance-controller`). */
export async function bindPorts(store: ObjectStore, ports: Port[], host: string): Promise<PortNote[]> {
  const notes: PortNote[] = [];
  for (const p of ports) {
    if (p.spec?.hostBinding === host) continue;
    await store.guaranteedUpdate(
      PortKind,
      p.metadata.namespace,
      p.metadata.name!,
      INSTANCE_CTX,
      (cur) => mergePatch(cur, { spec: { hostBinding: host } }) as Port,
    );
    notes.push({ type: "Normal", reason: "PortBound", message: `bound port ${p.metadata.name} to host ${host}` });
  }
  return notes;
}

/** Deletes the ports the instance owns and hands adopted ones back (no owner, no binding). */
export async function releasePorts(store: ObjectStore, inst: KObject): Promise<PortNote[]> {
  const ns = inst.metadata.namespace!;
  const notes: PortNote[] = [];
  const owner = deviceOwnerOf(inst);
  for (const p of (await store.list(PortKind, ns)).items) {
    const name = p.metadata.name!;
    try {
      if (ownedBy(p, inst)) {
        await store.delete(PortKind, ns, name, INSTANCE_CTX);
        notes.push({ type: "Normal", reason: "PortDeleted", message: `deleted port ${name}` });
      } else if (p.spec?.deviceOwner === owner) {
        // Another manager may own these fields (the user who pre-set them): handing the port back is this
        // controller's job, so it forces; the store records the override as a FieldsOverridden event.
        await store.guaranteedUpdate(
          PortKind,
          ns,
          name,
          { ...INSTANCE_CTX, force: true },
          (cur) => mergePatch(cur, { spec: { deviceOwner: null, hostBinding: null } }) as Port,
        );
        notes.push({ type: "Normal", reason: "PortReleased", message: `released adopted port ${name}` });
      }
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }
  return notes;
}
