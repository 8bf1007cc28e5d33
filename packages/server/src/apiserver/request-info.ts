/** Parses an API path into what it addresses, as the Kubernetes apiserver's RequestInfo does. */
import { ApiError, badRequest, type KindDefinition, type KindRegistry, notFound } from "@kumo/api";

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`malformed percent-encoding in the path segment "${segment}"`);
  }
}

/** What a request addresses. */
export interface RequestInfo {
  group: string;
  version: string;
  kind: KindDefinition;
  namespace?: string;
  name?: string;
  subresource?: "status" | "history" | "log";
  /** Kubernetes verb: get list watch create update patch delete deletecollection. */
  verb: string;
}

/**
 * `/api/v1/namespaces/ns/events/e1`, `/apis/infra.kumo.dev/v1/hosts/h1/status`, ...
 * Returns undefined for paths that are not resource paths (discovery documents).
 */
export function parseRequestInfo(method: string, path: string, kinds: KindRegistry, watch: boolean): RequestInfo | undefined {
  const parts = path.split("/").filter(Boolean);
  let group: string, version: string, rest: string[];
  if (parts[0] === "api") {
    if (parts.length < 3) return undefined;
    group = "";
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    if (parts.length < 4) return undefined;
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  // "namespaces/NS/<plural>..." addresses namespaced objects; "namespaces" and "namespaces/NS[/status]" the Namespace kind.
  if (rest[0] === "namespaces" && rest.length >= 3 && rest[2] !== "status" && rest[2] !== "history") {
    namespace = decode(rest[1]);
    rest = rest.slice(2);
  }
  const [plural, rawName, sub, ...extra] = rest;
  const kind = kinds.byResource(group, version, plural);
  if (!kind) {
    const known = kinds
      .all()
      .filter((k) => k.plural === plural)
      .map((k) => (k.group ? `${k.group}/${k.version}` : k.version));
    const hint = known.length ? ` (served as ${known.join(", ")})` : "";
    throw new ApiError(
      404,
      "NotFound",
      `the server could not find the requested resource: no resource "${plural}" in ${group ? `${group}/${version}` : version}${hint}`,
    );
  }
  if (extra.length > 0) throw notFound({ group, resource: plural, name: rawName ?? "" });
  if (kind.namespaced === false && namespace !== undefined) throw notFound({ group, resource: plural, name: rawName ?? "" });
  if (sub !== undefined && sub !== "status" && sub !== "history" && !(sub === "log" && kind.logSubresource))
    throw notFound({ group, resource: `${plural}/${sub}`, name: rawName });
  if (sub === "status" && !kind.statusSubresource) throw notFound({ group, resource: `${plural}/status`, name: rawName });
  const name = rawName === undefined ? undefined : decode(rawName);
  const m = method.toUpperCase();
  let verb: string;
  if (name === undefined)
    verb = m === "GET" ? (watch ? "watch" : "list") : m === "POST" ? "create" : m === "DELETE" ? "deletecollection" : m.toLowerCase();
  else
    verb =
      m === "GET"
        ? watch
          ? "watch"
          : "get"
        : m === "PUT"
          ? "update"
          : m === "PATCH"
            ? "patch"
            : m === "DELETE"
              ? "delete"
              : m.toLowerCase();
  return { group, version, kind, namespace, name, subresource: sub as RequestInfo["subresource"], verb };
}
