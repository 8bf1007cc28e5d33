/** Storage keys and the object ⇄ stored-value codec. resourceVersion is never stored: it is the key's modRevision. */
import type { KindDefinition, KObject } from "@kumo/api";
import { apiVersionOfKind } from "@kumo/api";
import type { KeyValue } from "../storage/backend.js";

/** Root of all API objects in the store. */
export const REGISTRY_PREFIX = "/registry/";
/** Root of the per-object write history. */
export const HISTORY_PREFIX = "/history/";

/** `/registry/<group|core>/<plural>/` */
export function kindPrefix(kind: KindDefinition): string {
  return `${REGISTRY_PREFIX}${kind.group || "core"}/${kind.plural}/`;
}

/** Prefix for a list: all namespaces when `namespace` is undefined. */
export function listPrefix(kind: KindDefinition, namespace: string | undefined): string {
  return kind.namespaced && namespace ? `${kindPrefix(kind)}${namespace}/` : kindPrefix(kind);
}

/** Key of one object. */
export function objectKey(kind: KindDefinition, namespace: string | undefined, name: string): string {
  return kind.namespaced ? `${kindPrefix(kind)}${namespace}/${name}` : `${kindPrefix(kind)}${name}`;
}

/** Prefix of one object's history entries. */
export function historyPrefix(kind: KindDefinition, namespace: string | undefined, name: string): string {
  return `${HISTORY_PREFIX}${kind.group || "core"}/${kind.plural}/${namespace || "_"}/${name}/`;
}

/** Key of one history entry; the zero-padded revision keeps them in write order. */
export function historyKey(kind: KindDefinition, namespace: string | undefined, name: string, revision: number): string {
  return `${historyPrefix(kind, namespace, name)}${String(revision).padStart(16, "0")}`;
}

/** Serialises an object for storage (without resourceVersion). */
export function encode(obj: KObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  // apiVersion, kind, metadata first: the watch cache splices resourceVersion in without parsing (watch-cache.ts).
  const { apiVersion, kind, metadata: _m, ...rest } = obj;
  return JSON.stringify({ apiVersion, kind, metadata: meta, ...rest });
}

/** Decodes a stored value, stamping resourceVersion (and apiVersion/kind, for robustness). */
export function decode(kind: KindDefinition, kv: KeyValue, revision = kv.modRevision): KObject {
  const obj = JSON.parse(kv.value) as KObject;
  obj.apiVersion = apiVersionOfKind(kind);
  obj.kind = kind.kind;
  obj.metadata.resourceVersion = String(revision);
  return obj;
}
