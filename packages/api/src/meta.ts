/** Kubernetes-style object metadata and common object shapes, shared by server, client, CLI, agent and dashboard. */

/** Points at the object that owns this one; when the owner is deleted, the garbage collector deletes this one. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/**
 * Finalizer the API server puts on an object deleted with propagationPolicy=Orphan (Kubernetes' own name):
 * the garbage collector detaches the object's dependents, then removes it, and only then the object goes.
 */
export const ORPHAN_FINALIZER = "orphan";

/** Which fields one field manager owns (Kubernetes FieldsV1 format: {"f:metadata":{"f:labels":{"f:a":{}}}}). */
export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, unknown>;
  subresource?: string;
}

/** Standard object metadata. */
export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

/** Any kumo object. `spec`/`status` are kind-specific. */
export interface KObject<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [extra: string]: unknown;
}

/** A typed list as returned by collection GETs. */
export interface KList<T extends KObject = KObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

/** A status condition (Kubernetes metav1.Condition). */
export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** A watch event on the wire. */
export interface WatchEvent<T = KObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

/** Returns `group/version` or just `version` for the core group. */
export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits an apiVersion into group and version (core group is ""). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf("/");
  return i < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

/** Finds a condition by type. */
export function findCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Returns a new condition list with `cond` set. lastTransitionTime changes only when the status changes,
 * so timelines show when a step really happened rather than when it was last re-confirmed.
 */
export function setCondition(conditions: Condition[] | undefined, cond: Condition, now = new Date().toISOString()): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === cond.type);
  if (i < 0) {
    list.push({ ...cond, lastTransitionTime: cond.lastTransitionTime ?? now });
  } else {
    const prev = list[i];
    const changed = prev.status !== cond.status;
    list[i] = { ...cond, lastTransitionTime: changed ? (cond.lastTransitionTime ?? now) : prev.lastTransitionTime };
  }
  return list;
}
