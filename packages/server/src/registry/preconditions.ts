/**
 * Preconditions: what a write states about the stored object it means to change (Kubernetes'
 * `metav1.Preconditions{UID, ResourceVersion}`). One type, one check, run against the latest read of
 * the object inside the store's compare-and-swap loop, so a precondition can never pass on a stale read.
 */
import { type ErrorTarget, type KObject, staleConflict, typedConflict } from "@kumo/api";

/** Expected identity (uid) and version (resourceVersion) of the stored object; undefined fields are not checked. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/** The precondition that failed, for metrics (a stale resourceVersion is counted as a conflict). */
export type FailedPrecondition = "uid" | "resourceVersion";

/**
 * Throws a 409 Conflict with a typed cause when `cur` does not meet `pre`. `verb` picks Kubernetes' wording
 * for a resourceVersion mismatch: an update gets its optimistic-lock message ("the object has been
 * modified"), a delete the precondition message. `onFail` is told which precondition failed first.
 */
export function checkPreconditions(
  pre: Preconditions,
  cur: KObject,
  t: ErrorTarget,
  verb: "update" | "delete",
  onFail?: (p: FailedPrecondition) => void,
): void {
  const uid = cur.metadata.uid;
  if (pre.uid !== undefined && pre.uid !== uid) {
    onFail?.("uid");
    const why = `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uid}`;
    throw typedConflict(t, "UIDPrecondition", why, "metadata.uid");
  }
  const rv = cur.metadata.resourceVersion;
  if (pre.resourceVersion !== undefined && pre.resourceVersion !== rv) {
    onFail?.("resourceVersion");
    if (verb === "update") throw staleConflict(t);
    const why = `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${rv}`;
    throw staleConflict(t, why);
  }
}
