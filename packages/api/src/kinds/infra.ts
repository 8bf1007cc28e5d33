/** infra.kumo.dev: the machines kumo runs workloads on. */
import { Type } from "@sinclair/typebox";
import { defineKind } from "../kind.js";
import type { Condition, KObject } from "../meta.js";
import { Conditions, Strict } from "./common.js";

/** Annotation keys the agent owns (field manager `kumo-agent`); peers derive overlay entries from them. */
export const VTEP_IP_ANNOTATION = "network.kumo.dev/vtep-ip";
/** See VTEP_IP_ANNOTATION. */
export const VTEP_MAC_ANNOTATION = "network.kumo.dev/vtep-mac";

const Resources = Strict({
  cpu: Type.Optional(Type.Integer({ minimum: 0, description: "millicores" })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: 0 })),
  instances: Type.Optional(Type.Integer({ minimum: 0 })),
});

/**
 * Port of a host agent's HTTP endpoint on its underlay IP: /metrics, /debug/state, /debug/dataplane,
 * and instance logs (those only for the API server, which proxies `instances/NAME/log`).
 */
export const AGENT_PORT = 9470;

/**
 * File in the API server's data dir with the token it shows agents when it proxies to them; agents
 * are started with `--proxy-token-file` pointing at (a copy of) it.
 */
export const AGENT_PROXY_TOKEN_FILE = "agent-proxy.token";

/** Host spec: what the operator decides. */
export interface HostSpec {
  capacity?: { cpu?: number; memoryMiB?: number; instances?: number };
  unschedulable?: boolean;
  underlayIP?: string;
}

/** Host status: what the agent and the lifecycle controller observe. */
export interface HostStatus {
  conditions?: Condition[];
  addresses?: { type: string; address: string }[];
  allocatable?: { cpu?: number; memoryMiB?: number; instances?: number };
  allocated?: { cpu?: number; memoryMiB?: number; instances?: number };
  lastHeartbeatTime?: string;
  agentVersion?: string;
  /** The agent's summary of its dataplane: desired vs actual per kind, drift repairs, problems. */
  dataplane?: HostDataplaneStatus;
}

/** Agent-reported dataplane summary (the dashboard and `kumo doctor` read it). */
export interface HostDataplaneStatus {
  lastSyncTime?: string;
  syncDurationMs?: number;
  driftRepairsTotal?: number;
  networks?: number;
  entries?: Record<string, { desired: number; actual: number }>;
  problems?: { network: string; reason: string; message: string }[];
}

/** A Host object. */
export type Host = KObject<HostSpec, HostStatus>;

const ready = (o: KObject) => (o.status as HostStatus | undefined)?.conditions?.find((c) => c.type === "Ready");

/** Host: a hypervisor/container host, registered by its agent. Scheduling labels are metadata.labels. */
export const HostKind = defineKind({
  group: "infra.kumo.dev",
  version: "v1",
  kind: "Host",
  plural: "hosts",
  shortNames: ["hst"],
  namespaced: false,
  schema: Strict({
    spec: Type.Optional(
      Strict({
        capacity: Type.Optional(Resources),
        unschedulable: Type.Optional(Type.Boolean()),
        underlayIP: Type.Optional(Type.String({ format: "ipv4" })),
      }),
    ),
    status: Type.Optional(
      Strict({
        conditions: Type.Optional(Conditions),
        addresses: Type.Optional(Type.Array(Strict({ type: Type.String(), address: Type.String() }))),
        allocatable: Type.Optional(Resources),
        allocated: Type.Optional(Resources),
        lastHeartbeatTime: Type.Optional(Type.String()),
        agentVersion: Type.Optional(Type.String()),
        dataplane: Type.Optional(
          Strict({
            lastSyncTime: Type.Optional(Type.String()),
            syncDurationMs: Type.Optional(Type.Number()),
            driftRepairsTotal: Type.Optional(Type.Integer()),
            networks: Type.Optional(Type.Integer()),
            entries: Type.Optional(Type.Record(Type.String(), Strict({ desired: Type.Integer(), actual: Type.Integer() }))),
            problems: Type.Optional(Type.Array(Strict({ network: Type.String(), reason: Type.String(), message: Type.String() }))),
          }),
        ),
      }),
    ),
  }),
  columns: [
    { name: "Status", type: "string", value: (o) => { const r = ready(o); return r ? (r.status === "True" ? "Ready" : "NotReady") : "Unknown"; } },
    { name: "Underlay", type: "string", value: (o) => (o.spec as HostSpec | undefined)?.underlayIP ?? (o.status as HostStatus | undefined)?.addresses?.[0]?.address },
    { name: "CPU", type: "integer", value: (o) => (o.spec as HostSpec | undefined)?.capacity?.cpu },
    { name: "Memory", type: "string", value: (o) => { const m = (o.spec as HostSpec | undefined)?.capacity?.memoryMiB; return m === undefined ? undefined : `${m}Mi`; } },
    { name: "VTEP", type: "string", priority: 1, value: (o) => o.metadata.annotations?.[VTEP_IP_ANNOTATION] },
    { name: "Heartbeat", type: "date", priority: 1, value: (o) => (o.status as HostStatus | undefined)?.lastHeartbeatTime },
  ],
});
