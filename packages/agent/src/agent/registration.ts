/**
 * The agent's Host: registered on start, VTEP published as annotations owned by field manager
 * `kumo-agent` (merge patches that only ever add its own keys), heartbeats in status.
 */
import { cpus, totalmem } from "node:os";
import { type Host, HostKind, type HostStatus, VTEP_IP_ANNOTATION, VTEP_MAC_ANNOTATION, isNotFound } from "@kumo/api";
import type { KumoClient } from "@kumo/client";

/** Field manager of everything the agent writes. */
export const AGENT_MANAGER = "kumo-agent";
/** Version reported in status. */
export const AGENT_VERSION = "0.1.0";

/** How the host presents itself. */
export interface HostIdentity {
  name: string;
  underlayIP: string;
  underlayMac?: string;
}

/** Creates the Host if absent (with measured capacity) and publishes the VTEP annotations. */
export async function registerHost(client: KumoClient, id: HostIdentity): Promise<Host> {
  const annotations: Record<string, string> = { [VTEP_IP_ANNOTATION]: id.underlayIP };
  if (id.underlayMac) annotations[VTEP_MAC_ANNOTATION] = id.underlayMac;
  try {
    await client.get(HostKind, undefined, id.name);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    const capacity = { cpu: cpus().length * 1000, memoryMiB: Math.floor(totalmem() / 1024 / 1024), instances: 110 };
    await client
      .create<Host>(
        HostKind,
        {
          apiVersion: "infra.kumo.dev/v1",
          kind: "Host",
          metadata: { name: id.name, annotations },
          spec: { underlayIP: id.underlayIP, capacity },
        },
        { fieldManager: AGENT_MANAGER },
      )
      .catch((err) => {
        if ((err as { reason?: string }).reason !== "AlreadyExists") throw err;
      });
  }
  return publishVtep(client, id);
}

/** Re-adds the VTEP annotations if someone removed or changed them (level-triggered self-repair). */
export function publishVtep(client: KumoClient, id: HostIdentity): Promise<Host> {
  const annotations: Record<string, string> = { [VTEP_IP_ANNOTATION]: id.underlayIP };
  if (id.underlayMac) annotations[VTEP_MAC_ANNOTATION] = id.underlayMac;
  return client.patch<Host>(HostKind, undefined, id.name, "merge", { metadata: { annotations } }, { fieldManager: AGENT_MANAGER });
}

/** One heartbeat: status.lastHeartbeatTime plus what the agent observes about itself. */
export function heartbeat(client: KumoClient, id: HostIdentity, extra: Partial<HostStatus> & Record<string, unknown>): Promise<Host> {
  const status = {
    lastHeartbeatTime: new Date().toISOString(),
    agentVersion: AGENT_VERSION,
    addresses: [{ type: "Underlay", address: id.underlayIP }],
    allocatable: { cpu: cpus().length * 1000, memoryMiB: Math.floor(totalmem() / 1024 / 1024), instances: 110 },
    ...extra,
  };
  return client.patch<Host>(HostKind, undefined, id.name, "merge", { status }, { fieldManager: AGENT_MANAGER, subresource: "status" });
}
