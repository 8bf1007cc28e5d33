/**
 * What a write is and what it did, as data. The object store produces a WriteRecord for every write and
 * hands it to a WriteRecorder (the history) and to its listeners (metrics, events), so the store depends
 * on this file only, never on who consumes the records.
 */
import type { KindDefinition, KObject } from "@kumo/api";
import type { WriteOptions } from "../storage/backend.js";
import type { FieldChange } from "./field-paths.js";
import type { OwnershipConflict } from "./managed-fields.js";

/** Who is writing and how. */
export interface WriteContext {
  user: string;
  manager: string;
  /** Override ownership conflicts (SSA force, kumo's removal rule). */
  force?: boolean;
  dryRun?: boolean;
  subresource?: "status";
}

/** The operation a write records (managedFields and history use the same words). */
export type WriteOperation = "Create" | "Update" | "Apply" | "Delete";

/** One write: the object as stored (or last seen, for a delete), its leaf changes and the owners it overrode. */
export interface WriteRecord {
  kind: KindDefinition;
  obj: KObject;
  ctx: WriteContext;
  operation: WriteOperation;
  changes: FieldChange[];
  /** Managers that lost fields because the write was forced. */
  overridden: OwnershipConflict[];
}

/**
 * Consumer of write records that needs a key in the write's own commit (the history entry): `attachment`
 * is asked before the write, `written` is told after it committed.
 */
export interface WriteRecorder {
  /** A key to store atomically with the write, or undefined. */
  attachment(w: WriteRecord): WriteOptions["attach"];
  /** Called once the write committed (`w.obj` carries the new resourceVersion). */
  written(w: WriteRecord): void;
}

/** Called after every successful write with what changed (metrics, audit of ownership overrides). */
export type WriteListener = (w: WriteRecord) => void;
