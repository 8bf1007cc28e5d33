/**
 * The metadata the server owns, whatever a writer sends (Kubernetes' rest.BeforeCreate / BeforeUpdate
 * common part): name and namespace come from the URL, uid and creationTimestamp are set once at create,
 * generation and deletionTimestamp change only through the store's own rules, resourceVersion is the
 * storage revision. Every kind gets these; per-kind rules live in strategy.ts.
 */
import { type ErrorTarget, type KindDefinition, type KObject, apiVersionOfKind, badRequest, invalid } from "@kumo/api";

/** Where an error about `kind`/`name` points. */
export function targetOf(kind: KindDefinition, name?: string): ErrorTarget {
  return { group: kind.group, kind: kind.kind, resource: kind.plural, name };
}

/** RFC 3339 at second precision, as Kubernetes timestamps. */
export function nowSeconds(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, "Z");
}

/**
 * Create: a copy of `input` with its type meta, name (from generateName if needed) and namespace settled.
 * Throws 422 without a name, 400 when the body's namespace contradicts the URL's or a namespaced kind has none.
 */
export function identifyForCreate(kind: KindDefinition, namespace: string | undefined, input: KObject): KObject {
  const obj = structuredClone(input);
  obj.apiVersion = apiVersionOfKind(kind);
  obj.kind = kind.kind;
  obj.metadata = obj.metadata ?? {};
  const md = obj.metadata;
  if (!md.name && md.generateName) md.name = md.generateName + randomSuffix();
  if (!md.name) {
    const message = "Required value: name or generateName is required";
    throw invalid(targetOf(kind), [{ field: "metadata.name", message, reason: "FieldValueRequired" }]);
  }
  if (kind.namespaced) {
    if (md.namespace && namespace && md.namespace !== namespace) {
      const why = `the namespace of the provided object (${md.namespace}) does not match the namespace sent on the request (${namespace})`;
      throw badRequest(why);
    }
    md.namespace = namespace ?? md.namespace;
    if (!md.namespace) throw badRequest("a namespace is required for namespaced kind " + kind.kind);
  } else delete md.namespace;
  return obj;
}

/** Create: the server-set fields of a new object; `uid` may be pre-assigned (admission names owners by it). */
export function stampForCreate(obj: KObject, uid: string | undefined): void {
  const md = obj.metadata;
  if (md.resourceVersion) throw badRequest("resourceVersion should not be set on objects to be created");
  delete md.deletionTimestamp;
  md.uid = uid ?? crypto.randomUUID();
  md.creationTimestamp = nowSeconds();
  md.generation = 1;
}

/** Update: 400 when the written object names another object than the one stored under the URL. */
export function checkIdentity(kind: KindDefinition, cur: KObject, next: KObject): void {
  const name = next.metadata?.name;
  if (name !== undefined && name !== cur.metadata.name) {
    throw badRequest(`the name of the object (${name}) does not match the name on the URL (${cur.metadata.name})`);
  }
  const ns = next.metadata?.namespace;
  if (kind.namespaced && ns && ns !== cur.metadata.namespace) {
    throw badRequest(`the namespace of the object (${ns}) does not match the namespace on the URL (${cur.metadata.namespace})`);
  }
}

/** Update: copies the server-owned fields from the stored `cur` onto `next`, whatever the writer put there. */
export function keepServerFields(kind: KindDefinition, next: KObject, cur: KObject): void {
  next.metadata = next.metadata ?? {};
  const md = next.metadata;
  md.name = cur.metadata.name;
  if (kind.namespaced) md.namespace = cur.metadata.namespace;
  md.uid = cur.metadata.uid;
  md.creationTimestamp = cur.metadata.creationTimestamp;
  md.generation = cur.metadata.generation;
  md.deletionTimestamp = cur.metadata.deletionTimestamp;
  if (!md.deletionTimestamp) delete md.deletionTimestamp;
  delete md.resourceVersion;
  next.apiVersion = apiVersionOfKind(kind);
  next.kind = kind.kind;
}

/** Update: a new generation when a counted field changed (spec, unless the kind names others). */
export function bumpGeneration(next: KObject, cur: KObject, changed: boolean): void {
  if (changed) next.metadata.generation = (cur.metadata.generation ?? 1) + 1;
}

function randomSuffix(): string {
  const chars = "bcdfghjklmnpqrstvwxz2456789";
  let s = "";
  for (let i = 0; i < 5; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}
