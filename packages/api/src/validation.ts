/** Schema validation of whole objects with Kubernetes-style field paths (`spec.capacity.cpu`). */
import { Value } from "@sinclair/typebox/value";
import { FormatRegistry } from "@sinclair/typebox";
import type { StatusCause } from "./errors.js";
import type { KindDefinition } from "./kind.js";
import type { KObject } from "./meta.js";
import { checkLabelName, checkLabelValue, checkObjectName, checkQualifiedKey } from "./names.js";

if (!FormatRegistry.Has("ipv4")) {
  FormatRegistry.Set("ipv4", (v) => /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/.test(v));
}
if (!FormatRegistry.Has("date-time")) {
  FormatRegistry.Set("date-time", (v) => !Number.isNaN(Date.parse(v)) && /^\d{4}-\d\d-\d\dT/.test(v));
}

/** `/spec/capacity/cpu` → `spec.capacity.cpu`; array indexes become `[i]`. */
export function pointerToPath(pointer: string): string {
  let out = "";
  for (const raw of pointer.split("/").slice(1)) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) out += `[${part}]`;
    else out += out ? `.${part}` : part;
  }
  return out;
}

const META_FIELDS = new Set([
  "name",
  "generateName",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "labels",
  "annotations",
  "ownerReferences",
  "finalizers",
  "managedFields",
  "selfLink",
]);

/** Validates metadata: field names, types, label/annotation keys and values. */
export function validateMetadata(obj: KObject, kind: KindDefinition): StatusCause[] {
  const causes: StatusCause[] = [];
  const m = obj.metadata as Record<string, unknown>;
  if (typeof m !== "object" || m === null || Array.isArray(m))
    return [{ field: "metadata", message: "must be an object", reason: "FieldValueInvalid" }];
  for (const k of Object.keys(m))
    if (!META_FIELDS.has(k)) causes.push({ field: `metadata.${k}`, message: `unknown field "metadata.${k}"`, reason: "FieldValueInvalid" });
  for (const k of ["name", "generateName", "namespace", "resourceVersion", "uid"]) {
    if (m[k] !== undefined && typeof m[k] !== "string")
      causes.push({ field: `metadata.${k}`, message: "must be a string", reason: "FieldValueInvalid" });
  }
  if (typeof m.name === "string" && m.name !== "") {
    const err = kind.kind === "Namespace" ? checkLabelName(m.name) : checkObjectName(m.name);
    if (err) causes.push({ field: "metadata.name", message: `Invalid value: "${m.name}": ${err}`, reason: "FieldValueInvalid" });
  }
  for (const mapName of ["labels", "annotations"] as const) {
    const map = m[mapName];
    if (map === undefined || map === null) continue;
    if (typeof map !== "object" || Array.isArray(map)) {
      causes.push({ field: `metadata.${mapName}`, message: "must be a map of string to string", reason: "FieldValueInvalid" });
      continue;
    }
    for (const [k, v] of Object.entries(map)) {
      const keyErr = checkQualifiedKey(k);
      if (keyErr) causes.push({ field: `metadata.${mapName}`, message: `Invalid value: "${k}": ${keyErr}`, reason: "FieldValueInvalid" });
      if (typeof v !== "string")
        causes.push({ field: `metadata.${mapName}.${k}`, message: "must be a string", reason: "FieldValueInvalid" });
      else if (mapName === "labels") {
        const valErr = checkLabelValue(v);
        if (valErr)
          causes.push({ field: `metadata.labels.${k}`, message: `Invalid value: "${v}": ${valErr}`, reason: "FieldValueInvalid" });
      }
    }
  }
  if (m.finalizers !== undefined && (!Array.isArray(m.finalizers) || m.finalizers.some((f) => typeof f !== "string"))) {
    causes.push({ field: "metadata.finalizers", message: "must be a list of strings", reason: "FieldValueInvalid" });
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences))
      causes.push({ field: "metadata.ownerReferences", message: "must be a list", reason: "FieldValueInvalid" });
    else
      m.ownerReferences.forEach((r: Record<string, unknown>, i: number) => {
        for (const f of ["apiVersion", "kind", "name", "uid"]) {
          if (typeof r?.[f] !== "string" || r[f] === "")
            causes.push({ field: `metadata.ownerReferences[${i}].${f}`, message: "Required value", reason: "FieldValueRequired" });
        }
      });
  }
  return causes;
}

/** Validates the kind-specific body against the kind's schema, then its semantic validator. */
export function validateObject(obj: KObject, kind: KindDefinition, old?: KObject): StatusCause[] {
  const causes = validateMetadata(obj, kind);
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (k !== "apiVersion" && k !== "kind" && k !== "metadata") body[k] = v;
  for (const e of Value.Errors(kind.schema, body)) {
    const path = pointerToPath(e.path);
    if (e.message === "Unexpected property") {
      causes.push({ field: path, message: `unknown field "${path}"`, reason: "FieldValueInvalid" });
      continue;
    }
    if (/additional properties/i.test(e.message)) {
      // TypeBox reports the parent; name the unknown field(s) as kubectl's strict validation does.
      const parent = path ? path.split(".").reduce<unknown>((o, p) => (o as Record<string, unknown>)?.[p], body) : body;
      const props = (e.schema as { properties?: Record<string, unknown> }).properties ?? {};
      for (const k of Object.keys((parent as Record<string, unknown>) ?? {})) {
        if (!(k in props))
          causes.push({
            field: path ? `${path}.${k}` : k,
            message: `unknown field "${path ? `${path}.${k}` : k}"`,
            reason: "FieldValueInvalid",
          });
      }
      continue;
    }
    causes.push({
      field: path || undefined,
      message: `Invalid value: ${JSON.stringify(e.value)?.slice(0, 80)}: ${e.message}`,
      reason: "FieldValueInvalid",
    });
  }
  if (causes.length === 0 && kind.validate) causes.push(...kind.validate(obj, old));
  return dedupe(causes);
}

function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}|${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
