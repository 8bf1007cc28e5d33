/**
 * The steps of a create and of an update, in order. Each step has one owner: server-owned metadata
 * (object-meta.ts), preconditions (preconditions.ts), the kind's status rules, defaults and validation
 * (strategy.ts), finalizers (finalizers.ts), field ownership (managed-fields.ts). This file only
 * sequences them; it reads no storage, so the store's compare-and-swap loop can re-run it on every retry.
 */
import { type KindDefinition, type KObject, apiVersionOfKind } from "@kumo/api";
import type { FieldChange } from "./field-paths.js";
import { checkFinalizers, readyToDelete } from "./finalizers.js";
import { FieldManager, type ManagedChanges, manageCreate, managedFieldsChanged } from "./managed-fields.js";
import { bumpGeneration, checkIdentity, identifyForCreate, keepServerFields, stampForCreate, targetOf } from "./object-meta.js";
import { checkPreconditions } from "./preconditions.js";
import { strategyFor } from "./strategy.js";
import type { WriteContext } from "./write-record.js";

/** One create: the object as the writer sent it, and where. */
export interface CreateRequest {
  kind: KindDefinition;
  namespace: string | undefined;
  input: KObject;
  ctx: WriteContext;
  operation: "Update" | "Apply";
  /** Pre-assigned uid (admission claims allocations in the new object's name before it exists). */
  uid?: string;
}

/** The object to store and its leaf changes. */
export interface PreparedCreate {
  obj: KObject;
  changes: FieldChange[];
}

/**
 * Create: name and namespace, the namespace's lifecycle (`namespaceOpen`, the one step that reads storage,
 * throws when the namespace is missing or terminating), server-set fields, the kind's create rules,
 * defaults, validation, and the creating manager's ownership.
 */
export async function prepareCreate(req: CreateRequest, namespaceOpen: (ns: string) => Promise<void>): Promise<PreparedCreate> {
  const { kind, operation } = req;
  const strategy = strategyFor(kind);
  const obj = identifyForCreate(kind, req.namespace, req.input);
  if (kind.namespaced) await namespaceOpen(obj.metadata.namespace!);
  stampForCreate(obj, req.uid);
  strategy.prepareForCreate(obj, operation);
  strategy.applyDefaults(obj);
  strategy.validate(obj);
  const changes = manageCreate(obj, req.input, operation, req.ctx.manager);
  return { obj, changes };
}

/** One update: the stored object and the writer's next version of it (for Apply: the applied config). */
export interface UpdateRequest {
  kind: KindDefinition;
  cur: KObject;
  next: KObject;
  ctx: WriteContext;
  operation: "Update" | "Apply";
  applyConfig?: Record<string, unknown>;
  /** Told each field manager an unforced Update would have taken fields from (metrics). */
  onOwnershipConflict?: (manager: string) => void;
}

/** The next stored version, its leaf changes and the owners a forced write overrode. */
export interface PreparedUpdate extends ManagedChanges {
  obj: KObject;
}

/** Update: the next version to store, or undefined when the write changes nothing (a no-op stores nothing). */
export function prepareUpdate(req: UpdateRequest): PreparedUpdate | undefined {
  const { kind, cur, ctx } = req;
  const strategy = strategyFor(kind);
  const t = targetOf(kind, cur.metadata.name);
  checkIdentity(kind, cur, req.next);
  checkPreconditions({ uid: req.next.metadata?.uid || undefined }, cur, t, "update");
  const { manager, subresource } = ctx;
  const writer = { operation: req.operation, manager, subresource, force: !!ctx.force, apiVersion: apiVersionOfKind(kind) };
  const fields = new FieldManager(cur, writer, t, req.onOwnershipConflict);
  // The candidate: an Update's object under the kind's status rules; an Apply's config merged into the stored object.
  const next =
    req.operation === "Apply" ? fields.merge(req.applyConfig) : strategy.prepareForUpdate(structuredClone(req.next), cur, ctx.subresource);
  keepServerFields(kind, next, cur);
  checkFinalizers(kind, cur, next);
  strategy.applyDefaults(next);
  strategy.validate(next, cur);
  const { changes, overridden } = fields.record(next, strategy.scope(ctx.subresource));
  fields.finish(next, req.next.metadata?.managedFields, changes);
  bumpGeneration(next, cur, strategy.generationChanged(cur, next));
  if (isNoOp(cur, next, changes)) return undefined;
  return { obj: next, changes, overridden };
}

/**
 * A write that changes no field and no ownership is a no-op (kubectl apply prints "unchanged"); the
 * timestamps inside managedFields do not count, or every re-apply would create a new version. Removing
 * the last finalizer of a deleting object is never a no-op: that write deletes it.
 */
function isNoOp(cur: KObject, next: KObject, changes: FieldChange[]): boolean {
  return changes.length === 0 && !managedFieldsChanged(cur.metadata.managedFields, next.metadata.managedFields) && !readyToDelete(next);
}
