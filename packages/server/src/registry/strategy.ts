/**
 * Per-kind write rules, as Kubernetes' registry strategies (RESTCreateStrategy / RESTUpdateStrategy):
 * what a create may set, which part of the object an update or a /status write may change, defaults,
 * validation and what counts for metadata.generation. Built once per kind from its KindDefinition, so a
 * kind with its own rules later gets its own strategy here instead of a branch in the store.
 */
import { type KindDefinition, type KObject, invalid, validateObject } from "@kumo/api";
import { jsonEqual } from "./field-paths.js";

/** The leaves a write diffs and owns: only status (/status), all but status (status subresource), or all. */
export type WriteScope = "main" | "status" | "all";

/** The write rules of one kind. */
export interface KindStrategy {
  readonly kind: KindDefinition;
  /** Create: drops what the creating writer may not set (status, when the kind has a status owner). */
  prepareForCreate(obj: KObject, operation: "Update" | "Apply"): void;
  /** Update: the status rules; returns the object to continue with (may be a new one). */
  prepareForUpdate(next: KObject, cur: KObject, subresource?: "status"): KObject;
  /** Fills in defaults, in place (create and update, before validation). */
  applyDefaults(obj: KObject): void;
  /** Throws 422 Invalid naming every offending field; `old` is the stored version on updates. */
  validate(obj: KObject, old?: KObject): void;
  /** Which leaves a write through `subresource` diffs and owns. */
  scope(subresource?: "status"): WriteScope;
  /** True when `next` differs from `cur` in a field metadata.generation counts (spec, unless the kind says). */
  generationChanged(cur: KObject, next: KObject): boolean;
}

/** The strategy every kind gets from its definition (statusSubresource, defaults, validate, generationFields). */
class DefinitionStrategy implements KindStrategy {
  private readonly generationFields: string[];

  constructor(readonly kind: KindDefinition) {
    this.generationFields = kind.generationFields ?? ["spec"];
  }

  prepareForCreate(obj: KObject, operation: "Update" | "Apply"): void {
    // An applied status is kept: server-side apply of a whole object (kubectl apply) may carry it.
    if (this.kind.statusSubresource && operation === "Update") delete obj.status;
  }

  prepareForUpdate(next: KObject, cur: KObject, subresource?: "status"): KObject {
    // /status writes change status only (and may not touch spec or metadata).
    if (subresource === "status") return { ...structuredClone(cur), status: next.status };
    if (this.kind.statusSubresource) {
      next.status = structuredClone(cur.status);
      if (next.status === undefined) delete next.status;
    }
    return next;
  }

  applyDefaults(obj: KObject): void {
    this.kind.defaults?.(obj);
  }

  validate(obj: KObject, old?: KObject): void {
    const causes = validateObject(obj, this.kind, old);
    const k = this.kind;
    if (causes.length) throw invalid({ group: k.group, kind: k.kind, resource: k.plural, name: obj.metadata.name }, causes);
  }

  scope(subresource?: "status"): WriteScope {
    return subresource === "status" ? "status" : this.kind.statusSubresource ? "main" : "all";
  }

  generationChanged(cur: KObject, next: KObject): boolean {
    return this.generationFields.some((f) => !jsonEqual(cur[f], next[f]));
  }
}

const strategies = new WeakMap<KindDefinition, KindStrategy>();

/** The strategy of `kind` (one instance per kind definition). */
export function strategyFor(kind: KindDefinition): KindStrategy {
  let s = strategies.get(kind);
  if (!s) strategies.set(kind, (s = new DefinitionStrategy(kind)));
  return s;
}
