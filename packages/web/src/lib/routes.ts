/**
 * Hash routes (`#/resources/networks.network.kumo.dev?ns=demo`). Hash routing keeps every view a
 * bookmarkable URL while the server only has to serve index.html at /ui/.
 */

/** A parsed location. */
export type Route =
  | { view: "overview" }
  | { view: "resources"; kind?: string; ns?: string; labels?: string }
  | { view: "detail"; kind: string; namespace?: string; name: string }
  | { view: "hosts" }
  | { view: "topology" }
  | { view: "metrics" }
  | { view: "actions" }
  | { view: "notfound"; path: string };

/** Placeholder namespace segment of cluster-scoped objects in detail URLs. */
const CLUSTER = "_";

/** Parses `location.hash`. */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "") || "/";
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [head, ...rest] = parts;
  switch (head) {
    case undefined:
    case "overview":
      return { view: "overview" };
    case "hosts":
    case "topology":
    case "metrics":
    case "actions":
      return rest.length ? { view: "notfound", path } : { view: head };
    case "resources":
      if (rest.length <= 1)
        return { view: "resources", kind: rest[0], ns: params.get("ns") || undefined, labels: params.get("labels") || undefined };
      if (rest.length === 3) return { view: "detail", kind: rest[0], namespace: rest[1] === CLUSTER ? undefined : rest[1], name: rest[2] };
      return { view: "notfound", path };
    default:
      return { view: "notfound", path };
  }
}

/** The `#/...` link for a route. */
export function href(r: Route): string {
  switch (r.view) {
    case "overview":
      return "#/";
    case "resources": {
      const p = new URLSearchParams();
      if (r.ns) p.set("ns", r.ns);
      if (r.labels) p.set("labels", r.labels);
      const qs = p.toString();
      return `#/resources${r.kind ? `/${encodeURIComponent(r.kind)}` : ""}${qs ? `?${qs}` : ""}`;
    }
    case "detail":
      return `#/resources/${encodeURIComponent(r.kind)}/${encodeURIComponent(r.namespace ?? CLUSTER)}/${encodeURIComponent(r.name)}`;
    case "notfound":
      return `#${r.path}`;
    default:
      return `#/${r.view}`;
  }
}
