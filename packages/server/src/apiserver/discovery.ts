/** Discovery documents (legacy APIVersions / APIGroupList / APIResourceList), derived from the kind registry. */
import type { KindDefinition, KindRegistry } from "@kumo/api";

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

/** `/version`. The minor must be one kubectl's dispatcher maps to itself (see KUBECTL-NOTES). */
export function versionInfo() {
  return {
    major: "1",
    minor: "32",
    gitVersion: "v1.32.0-kumo.0.1.0",
    gitCommit: "kumo",
    gitTreeState: "clean",
    buildDate: "2026-11-24T00:00:00Z",
    goVersion: `node${process.versions.node}`,
    compiler: "tsc",
    platform: `${process.platform}/${process.arch}`,
  };
}

/** `/api`. */
export function coreVersions(serverAddress: string) {
  return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }] };
}

/** `/apis`. */
export function groupList(kinds: KindRegistry) {
  const groups = [...kinds.groups()].filter(([g]) => g !== "").map(([name, versions]) => groupDoc(name, versions));
  return { kind: "APIGroupList", apiVersion: "v1", groups };
}

/** `/apis/<group>`. */
export function groupDoc(name: string, versions: string[]) {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { kind: "APIGroup", apiVersion: "v1", name, versions: vs, preferredVersion: vs[0] };
}

function resourceEntries(k: KindDefinition) {
  const main = {
    name: k.plural,
    singularName: k.singular,
    namespaced: k.namespaced,
    kind: k.kind,
    verbs: k.verbs ?? ALL_VERBS,
    ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
    ...(k.categories.length ? { categories: k.categories } : {}),
  };
  const subs = [];
  if (k.statusSubresource)
    subs.push({ name: `${k.plural}/status`, singularName: "", namespaced: k.namespaced, kind: k.kind, verbs: ["get", "patch", "update"] });
  if (k.logSubresource) subs.push({ name: `${k.plural}/log`, singularName: "", namespaced: k.namespaced, kind: k.kind, verbs: ["get"] });
  subs.push({ name: `${k.plural}/history`, singularName: "", namespaced: k.namespaced, kind: "WriteHistory", verbs: ["get"] });
  return [main, ...subs];
}

/** `/api/v1` or `/apis/<group>/<version>`; undefined when nothing is served there. */
export function resourceList(kinds: KindRegistry, group: string, version: string) {
  const ks = kinds.all().filter((k) => k.group === group && k.version === version);
  if (!ks.length) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: ks.flatMap(resourceEntries),
  };
}
