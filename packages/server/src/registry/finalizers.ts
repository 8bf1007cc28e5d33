/**
 * Finalizers and graceful deletion: a delete of an object with finalizers only stamps deletionTimestamp;
 * the object goes away with the write that removes its last finalizer. While it is being deleted nobody
 * may add a finalizer, or deletion could be held up forever by a writer that arrived late.
 */
import { type KindDefinition, type KObject, forbidden } from "@kumo/api";
import type { FieldChange } from "./field-paths.js";
import { nowSeconds } from "./object-meta.js";

/** Update: 403 when `next` adds finalizers to an object that is being deleted. */
export function checkFinalizers(kind: KindDefinition, cur: KObject, next: KObject): void {
  if (!cur.metadata.deletionTimestamp) return;
  const had = cur.metadata.finalizers ?? [];
  const added = (next.metadata.finalizers ?? []).filter((f) => !had.includes(f));
  if (!added.length) return;
  throw forbidden(`${kind.kind} "${cur.metadata.name}" is being deleted: no new finalizers can be added (${added.join(", ")})`);
}

/** True when a delete must wait for finalizers (only stamp deletionTimestamp). */
export function hasFinalizers(obj: KObject): boolean {
  return (obj.metadata.finalizers ?? []).length > 0;
}

/** True when `obj` is being deleted and nothing holds it any more: the write that made it so deletes it. */
export function readyToDelete(obj: KObject): boolean {
  return !!obj.metadata.deletionTimestamp && !hasFinalizers(obj);
}

/** Delete of an object with finalizers: the next version (deletionTimestamp set) and the change to record. */
export function markDeleting(cur: KObject): { next: KObject; changes: FieldChange[] } {
  const next = structuredClone(cur);
  next.metadata.deletionTimestamp = nowSeconds();
  delete next.metadata.resourceVersion;
  return { next, changes: [{ path: ["metadata", "deletionTimestamp"], op: "set", value: next.metadata.deletionTimestamp }] };
}
