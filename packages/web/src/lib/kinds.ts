/**
 * One model per kind: how the dashboard names, addresses and tabulates it. Kinds are discovered at
 * run time from the API (so kinds added after this build still get a generic list), and the printer
 * columns come from the shared kind registry where this build knows the kind.
 */
import { defaultRegistry, type KObject, type PrinterColumn } from "@kumo/api";
import type { KumoClient, ResourceType } from "@kumo/client";

/** A column of a list view: a header and how to compute the cell. */
export interface Column {
  name: string;
  type: PrinterColumn["type"];
  value: (obj: KObject) => string | number | boolean | undefined;
}

/** Everything a view needs to know about one kind. */
export interface KindModel extends ResourceType {
  /** Stable id used in URLs: `networks.network.kumo.dev`, core kinds just `namespaces`. */
  key: string;
  columns: Column[];
  verbs: string[];
}

/** The id used in URLs for a resource type. */
export function kindKey(rt: Pick<ResourceType, "plural" | "group">): string {
  return rt.group ? `${rt.plural}.${rt.group}` : rt.plural;
}

/** Phase, or the Ready condition, or nothing: a status column for kinds this build does not know. */
export function genericStatus(o: KObject): string | undefined {
  const st = o.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
  if (st?.phase) return st.phase;
  const ready = st?.conditions?.find((c) => c.type === "Ready");
  return ready ? (ready.status === "True" ? "Ready" : "NotReady") : undefined;
}

const registry = defaultRegistry();

/** Builds the model of one discovered resource. */
export function modelFor(rt: ResourceType, verbs: string[] = []): KindModel {
  const known = registry.byResource(rt.group, rt.version, rt.plural);
  // Wide columns (priority > 0) are kept: a browser table has the room a terminal lacks.
  const columns: Column[] = known
    ? known.columns.map((c) => ({ name: c.name, type: c.type, value: c.value }))
    : [{ name: "Status", type: "string", value: genericStatus }];
  return { ...rt, key: kindKey(rt), columns, verbs };
}

interface ApiResource {
  name: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
}
interface ResourceList {
  groupVersion: string;
  resources: ApiResource[];
}
interface GroupList {
  groups: { name: string; preferredVersion?: { version: string }; versions: { version: string }[] }[];
}

/** Turns discovery documents into kind models (subresources such as `hosts/status` are skipped). */
export function modelsFromDiscovery(lists: ResourceList[]): KindModel[] {
  const out: KindModel[] = [];
  for (const l of lists) {
    const i = l.groupVersion.indexOf("/");
    const group = i < 0 ? "" : l.groupVersion.slice(0, i);
    const version = i < 0 ? l.groupVersion : l.groupVersion.slice(i + 1);
    for (const r of l.resources) {
      if (r.name.includes("/")) continue;
      out.push(modelFor({ group, version, plural: r.name, namespaced: r.namespaced, kind: r.kind }, r.verbs ?? []));
    }
  }
  return out;
}

/** Reads `/api/v1`, `/apis` and each group's preferred version. A group that fails is left out, not fatal. */
export async function discoverKinds(client: KumoClient, signal?: AbortSignal): Promise<KindModel[]> {
  const core = await client.requestJson<ResourceList>("GET", "/api/v1", { signal });
  const groups = await client.requestJson<GroupList>("GET", "/apis", { signal });
  const lists = await Promise.all(
    groups.groups.map((g) => {
      const v = g.preferredVersion?.version ?? g.versions[0]?.version;
      return client.requestJson<ResourceList>("GET", `/apis/${g.name}/${v}`, { signal }).catch(() => undefined);
    }),
  );
  return modelsFromDiscovery([core, ...lists.filter((l): l is ResourceList => !!l)]);
}

/** Finds a model by URL key, or by group + kind (owner references), or by plural within a group. */
export function findKind(
  kinds: readonly KindModel[],
  q: { key?: string; group?: string; kind?: string; plural?: string },
): KindModel | undefined {
  return kinds.find((k) =>
    q.key !== undefined
      ? k.key === q.key
      : (q.group === undefined || k.group === q.group) &&
        (q.kind === undefined || k.kind === q.kind) &&
        (q.plural === undefined || k.plural === q.plural),
  );
}
