/** meta.k8s.io/v1 Table rendering: columns are declared once on the kind and served to kubectl, kumo and the dashboard. */
import type { KindDefinition, KObject } from "@kumo/api";

/** The Accept media type kubectl uses to ask for a Table. */
export const TABLE_CONTENT_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io";

/** True when the Accept header asks for a Table first. */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(",")[0];
  return /as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}

/** Human age as kubectl prints it: 45s, 12m, 5h, 3d. */
export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "<unknown>";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

function columnDefinitions(kind: KindDefinition) {
  return [
    { name: "Name", type: "string", format: "name", description: "Name of the object", priority: 0 },
    ...kind.columns.map((c) => ({
      name: c.name,
      type: c.type === "date" ? "string" : c.type,
      format: "",
      description: c.description ?? "",
      priority: c.priority ?? 0,
    })),
    { name: "Age", type: "string", format: "", description: "Time since creation", priority: 0 },
  ];
}

function row(kind: KindDefinition, obj: KObject, includeObject: string) {
  const cells: unknown[] = [obj.metadata.name];
  for (const c of kind.columns) {
    let v: unknown;
    try {
      v = c.value(obj);
    } catch {
      v = undefined;
    }
    cells.push(c.type === "date" ? (typeof v === "string" ? age(v) : "<unknown>") : v === undefined || v === null ? "<none>" : v);
  }
  cells.push(age(obj.metadata.creationTimestamp));
  let object: unknown;
  if (includeObject === "Object") object = obj;
  else if (includeObject !== "None") object = { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: obj.metadata };
  return object === undefined ? { cells } : { cells, object };
}

/** A Table of `items`. */
export function toTable(
  kind: KindDefinition,
  items: KObject[],
  meta: { resourceVersion?: string; continue?: string },
  includeObject = "Metadata",
  withColumns = true,
) {
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: meta,
    ...(withColumns ? { columnDefinitions: columnDefinitions(kind) } : { columnDefinitions: [] }),
    rows: items.map((o) => row(kind, o, includeObject)),
  };
}
