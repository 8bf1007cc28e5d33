/** `-o yaml|json|name` output of whole objects. */
import { stringify as toYaml } from "yaml";
import type { KObject } from "@kumo/api";
import { kindRef, type Resource } from "../kinds.js";

/** Output formats of `get`. */
export type OutputFormat = "table" | "wide" | "yaml" | "json" | "name";

/** Parses `-o`; throws a message listing the allowed formats. */
export function parseOutput(v: string | undefined): OutputFormat {
  if (v === undefined) return "table";
  if (["wide", "yaml", "json", "name"].includes(v)) return v as OutputFormat;
  throw new Error(`unable to match a printer suitable for the output format "${v}", allowed formats are: json, name, wide, yaml`);
}

/** Drops managedFields, as kubectl does unless --show-managed-fields: they are noise for people. */
export function forDisplay<T extends KObject>(obj: T, showManagedFields = false): T {
  if (showManagedFields || !obj.metadata?.managedFields) return obj;
  const { managedFields: _drop, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** One object, or a v1 List of several, as YAML or JSON text (ends with a newline). */
export function formatObjects(objs: KObject[], format: "yaml" | "json", single: boolean): string {
  const doc = single && objs.length === 1 ? objs[0] : { apiVersion: "v1", kind: "List", metadata: { resourceVersion: "" }, items: objs };
  return format === "json" ? JSON.stringify(doc, null, 2) + "\n" : toYaml(doc, { lineWidth: 0 });
}

/** `host.infra.kumo.dev/h1`. */
export function formatName(r: Resource, obj: KObject): string {
  return `${kindRef(r)}/${obj.metadata.name ?? ""}`;
}
