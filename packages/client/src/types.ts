/** Wire shapes the client reads besides plain objects: Tables, write history, request options. */
import type { KindDefinition, KObject } from "@kumo/api";

/**
 * What the client needs to address a resource. Every `KindDefinition` is one; the CLI also builds
 * these from discovery for kinds this build does not know yet.
 */
export type ResourceType = Pick<KindDefinition, "group" | "version" | "plural" | "namespaced" | "kind">;

/** A WHATWG fetch: `globalThis.fetch`, the CLI's node:https transport, or an in-process app handler. */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** Options of collection reads (list, table, watch). */
export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

/** Options of writes. */
export interface WriteOptions {
  /** Who is writing: recorded in managedFields and the write history. */
  fieldManager?: string;
  /** kumo extension: take over map keys owned by another manager instead of failing with 409. */
  force?: boolean;
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** PATCH flavours: JSON merge patch, JSON patch (RFC 6902), server-side apply. */
export type PatchType = "merge" | "json" | "apply";

/** A meta.k8s.io/v1 Table column. */
export interface TableColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** A Table row; `object` is PartialObjectMetadata (or the full object with includeObject=Object). */
export interface TableRow {
  cells: unknown[];
  object?: KObject;
}

/** meta.k8s.io/v1 Table, as served for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
export interface Table {
  kind: "Table";
  apiVersion: string;
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

/** One field changed by one write. */
export interface FieldChange {
  /** Dotted path; map keys are appended verbatim (`metadata.annotations.network.kumo.dev/vtep-ip`). */
  path: string;
  op: "set" | "remove";
  value?: unknown;
  previous?: unknown;
}

/** One recorded write of an object. */
export interface WriteRecord {
  revision: string;
  time: string;
  manager: string;
  user: string;
  operation: "Update" | "Apply" | "Create" | "Delete" | string;
  force: boolean;
  /** Set for writes through a subresource ("status"). */
  subresource?: string;
  /** Managers that lost fields because of `force`. */
  overridden?: { manager: string; paths: string[] }[];
  changes: FieldChange[];
}

/** The `/history` subresource: every write of one object, oldest first. */
export interface WriteHistory {
  kind: "WriteHistory";
  apiVersion: string;
  items: WriteRecord[];
}
