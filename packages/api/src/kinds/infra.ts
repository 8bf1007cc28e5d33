/** infra.kumo.dev: the machines kumo runs workloads on. */
import { Type, type Static } from "@sinclair/typebox";
import { defineKind } from "../kind.js";
import type { KObject } from "../meta.js";
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

/** Schema of a Host's spec: what the operator decides. */
export const HostSpecSchema = Strict({
  capacity: Type.Optional(Resources),
  unschedulable: Type.Optional(Type.Boolean()),
  underlayIP: Type.Optional(Type.String({ format: "ipv4" })),
});
/** Host spec. */
export type HostSpec = Static<typeof HostSpecSchema>;

/** Schema of the agent-reported dataplane summary (the dashboard and `kumo doctor` read it). */
export const HostDataplaneStatusSchema = Strict({
  lastSyncTime: Type.Optional(Type.String()),
  syncDurationMs: Type.Optional(Type.Number()),
  driftRepairsTotal: Type.Optional(Type.Integer()),
  networks: Type.Optional(Type.Integer()),
  entries: Type.Optional(Type.Record(Type.String(), Strict({ desired: Type.Integer(), actual: Type.Integer() }))),
  problems: Type.Optional(Type.Array(Strict({ network: Type.String(), reason: Type.String(), message: Type.String() }))),
});
/** Agent-reported dataplane summary. */
export type HostDataplaneStatus = Static<typeof HostDataplaneStatusSchema>;

/** Schema of a Host's status: what the agent and the lifecycle controller observe. */
export const HostStatusSchema = Strict({
  conditions: Type.Optional(Conditions),
  addresses: Type.Optional(Type.Array(Strict({ type: Type.String(), address: Type.String() }))),
  allocatable: Type.Optional(Resources),
  allocated: Type.Optional(Resources),
  lastHeartbeatTime: Type.Optional(Type.String()),
  agentVersion: Type.Optional(Type.String()),
  /** The agent's summary of its dataplane: desired vs actual per kind, drift repairs, problems. */
  dataplane: Type.Optional(HostDataplaneStatusSchema),
});
/** Host status. */
export type HostStatus = Static<typeof HostStatusSchema>;

/** A Host object. */
export type Host = KObject<HostSpec, HostStatus>;

const mebibytes = (m: number | undefined) => (m === undefined ? undefined : `${m}Mi`);
const ready = (o: Host) => o.status?.conditions?.find((c) => c.type === "Ready");

/** Host: a hypervisor/container host, registered by its agent. Scheduling labels are metadata.labels. */
export const HostKind = defineKind({
  group: "infra.kumo.dev",
  version: "v1",
  kind: "Host",
  plural: "hosts",
  shortNames: ["hst"],
  namespaced: false,
  schema: Strict({ spec: Type.Optional(HostSpecSchema), status: Type.Optional(HostStatusSchema) }),
  columns: [
    {
      name: "Status",
      type: "string",
      value: (o) => {
        const r = ready(o);
        return r ? (r.status === "True" ? "Ready" : "NotReady") : "Unknown";
      },
    },
    { name: "Underlay", type: "string", value: (o) => o.spec?.underlayIP ?? o.status?.addresses?.[0]?.address },
    { name: "CPU", type: "integer", value: (o) => o.spec?.capacity?.cpu },
    { name: "Memory", type: "string", value: (o) => mebibytes(o.spec?.capacity?.memoryMiB) },
    { name: "VTEP", type: "string", priority: 1, value: (o) => o.metadata.annotations?.[VTEP_IP_ANNOTATION] },
    { name: "Heartbeat", type: "date", priority: 1, value: (o) => o.status?.lastHeartbeatTime },
  ],
});
