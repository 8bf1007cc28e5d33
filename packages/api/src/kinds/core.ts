/** Core v1 kinds kumo serves (a subset of Kubernetes): Namespace (= project), Event, Secret. */
import { Type, type Static } from "@sinclair/typebox";
import type { StatusCause } from "../errors.js";
import { defineKind } from "../kind.js";
import { Strict, StringMap } from "./common.js";

/** Schema of a Namespace's status. */
export const NamespaceStatusSchema = Strict({ phase: Type.Optional(Type.String()) });
/** Namespace status: Active, or Terminating once deleted. */
export type NamespaceStatus = Static<typeof NamespaceStatusSchema>;

/** Namespace: a project. */
export const NamespaceKind = defineKind({
  group: "",
  version: "v1",
  kind: "Namespace",
  plural: "namespaces",
  shortNames: ["ns"],
  categories: [],
  namespaced: false,
  schema: Strict({
    spec: Type.Optional(Strict({ finalizers: Type.Optional(Type.Array(Type.String())) })),
    status: Type.Optional(NamespaceStatusSchema),
  }),
  columns: [{ name: "Status", type: "string", value: (o) => o.status?.phase ?? "Active" }],
  defaults: (o) => {
    o.status = { phase: o.metadata.deletionTimestamp ? "Terminating" : "Active" };
  },
});

const ObjectReference = Strict({
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.Optional(Type.String()),
  uid: Type.Optional(Type.String()),
  apiVersion: Type.Optional(Type.String()),
  resourceVersion: Type.Optional(Type.String()),
  fieldPath: Type.Optional(Type.String()),
});

/** Event: something that happened to an object (core/v1 Event, which `kubectl get events` and `describe` read). */
export const EventKind = defineKind({
  group: "",
  version: "v1",
  kind: "Event",
  plural: "events",
  shortNames: ["ev"],
  categories: [],
  namespaced: true,
  statusSubresource: false,
  schema: Strict({
    involvedObject: ObjectReference,
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    type: Type.Optional(Type.Union([Type.Literal("Normal"), Type.Literal("Warning")])),
    count: Type.Optional(Type.Integer()),
    firstTimestamp: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    lastTimestamp: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    eventTime: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    source: Type.Optional(Strict({ component: Type.Optional(Type.String()), host: Type.Optional(Type.String()) })),
    reportingComponent: Type.Optional(Type.String()),
    reportingInstance: Type.Optional(Type.String()),
    action: Type.Optional(Type.String()),
    related: Type.Optional(ObjectReference),
  }),
  generationFields: [],
  columns: [
    { name: "Last Seen", type: "date", value: (o) => o.lastTimestamp ?? o.metadata.creationTimestamp },
    { name: "Type", type: "string", value: (o) => o.type },
    { name: "Reason", type: "string", value: (o) => o.reason },
    { name: "Object", type: "string", value: (o) => objectRef(o.involvedObject) },
    { name: "Message", type: "string", value: (o) => o.message },
    { name: "Source", type: "string", priority: 1, value: (o) => o.source?.component },
    { name: "Count", type: "integer", priority: 1, value: (o) => o.count },
  ],
});

/** `kind/name` of an event's object, as `kubectl get events` shows it. */
function objectRef(i: { kind?: string; name?: string } | undefined): string {
  return i ? `${(i.kind ?? "").toLowerCase()}/${i.name ?? ""}` : "";
}

/** Secret: opaque data, base64 in `data`; `stringData` is write-only convenience merged into `data`. */
export const SecretKind = defineKind({
  group: "",
  version: "v1",
  kind: "Secret",
  plural: "secrets",
  categories: [],
  namespaced: true,
  statusSubresource: false,
  schema: Strict({
    type: Type.Optional(Type.String()),
    data: Type.Optional(StringMap),
    stringData: Type.Optional(StringMap),
    immutable: Type.Optional(Type.Boolean()),
  }),
  generationFields: [],
  columns: [
    { name: "Type", type: "string", value: (o) => o.type ?? "Opaque" },
    { name: "Data", type: "integer", value: (o) => Object.keys(o.data ?? {}).length },
  ],
  defaults: (o) => {
    if (!o.type) o.type = "Opaque";
    const sd = o.stringData;
    if (sd) {
      const data = { ...(o.data ?? {}) };
      for (const [k, v] of Object.entries(sd)) data[k] = base64(v);
      o.data = data;
      delete o.stringData;
    }
  },
  validate: (o) => {
    const causes: StatusCause[] = [];
    for (const [k, v] of Object.entries(o.data ?? {})) {
      if (!/^[-._a-zA-Z0-9]+$/.test(k))
        causes.push({ field: `data[${k}]`, message: "a valid config key must consist of alphanumeric characters, '-', '_' or '.'" });
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) causes.push({ field: `data[${k}]`, message: "must be base64-encoded" });
    }
    return causes;
  },
});

function base64(s: string): string {
  // isomorphic: TextEncoder + btoa exist in browsers and Node 20
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
