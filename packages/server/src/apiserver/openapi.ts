/**
 * OpenAPI v3 documents per group/version, generated from the kinds' schemas. kubectl needs them for
 * `apply`/`create` validation (it then sends fieldValidation=Strict and lets the server validate) and `explain`.
 */
import { createHash } from "node:crypto";
import type { KindDefinition, KindRegistry } from "@kumo/api";

function sanitize(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(sanitize);
  if (typeof schema !== "object" || schema === null) return schema;
  const s = schema as Record<string, unknown>;
  // OpenAPI 3.0 has neither `const` nor type "null": unions of literals become enums, null becomes nullable.
  if (Array.isArray(s.anyOf)) {
    const opts = s.anyOf as Record<string, unknown>[];
    if (opts.every((o) => "const" in o)) return { type: typeof opts[0].const, enum: opts.map((o) => o.const) };
    const nonNull = opts.filter((o) => o.type !== "null");
    if (nonNull.length === 1 && nonNull.length < opts.length) return { ...(sanitize(nonNull[0]) as object), nullable: true };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "const") {
      out.enum = [v];
      continue;
    }
    if (k === "patternProperties") {
      out.additionalProperties = sanitize(Object.values(v as object)[0]);
      continue;
    }
    out[k] = sanitize(v);
  }
  return out;
}

/** Component name, reverse-DNS as Kubernetes does: `dev.kumo.infra.v1.Host`. */
export function componentName(k: KindDefinition): string {
  return k.group ? `${k.group.split(".").reverse().join(".")}.${k.version}.${k.kind}` : `io.k8s.api.core.${k.version}.${k.kind}`;
}

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

/** Builds one group/version's document. */
export function openApiDoc(kinds: KindRegistry, group: string, version: string) {
  const ks = kinds.all().filter((k) => k.group === group && k.version === version);
  if (!ks.length) return undefined;
  const schemas: Record<string, unknown> = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
      type: "object",
      description: "Standard object metadata",
      "x-kubernetes-preserve-unknown-fields": true,
    },
  };
  const paths: Record<string, unknown> = {};
  const fieldValidation = {
    name: "fieldValidation",
    in: "query",
    schema: { type: "string", uniqueItems: true },
    description: "Strict, Warn or Ignore",
  };
  const fieldManager = { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } };
  for (const k of ks) {
    const name = componentName(k);
    const body = sanitize(JSON.parse(JSON.stringify(k.schema))) as { properties: Record<string, unknown>; required?: string[] };
    schemas[name] = {
      type: "object",
      description: `${k.kind} (${k.group || "core"}/${k.version})`,
      properties: {
        apiVersion: { type: "string" },
        kind: { type: "string" },
        metadata: { $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" },
        ...body.properties,
      },
      ...(body.required?.length ? { required: body.required } : {}),
      "x-kubernetes-group-version-kind": [{ group: k.group, version: k.version, kind: k.kind }],
    };
    const gvk = { group: k.group, version: k.version, kind: k.kind };
    const ref = { $ref: `#/components/schemas/${name}` };
    const ok = { "200": { description: "OK", content: { "application/json": { schema: ref } } } };
    const base = `/${gvPath(group, version)}${k.namespaced ? "/namespaces/{namespace}" : ""}/${k.plural}`;
    paths[base] = {
      get: {
        operationId: `list${k.kind}`,
        "x-kubernetes-action": "list",
        "x-kubernetes-group-version-kind": gvk,
        responses: { "200": { description: "OK" } },
      },
      post: {
        operationId: `create${k.kind}`,
        "x-kubernetes-action": "post",
        "x-kubernetes-group-version-kind": gvk,
        parameters: [fieldValidation, fieldManager],
        requestBody: { content: { "application/json": { schema: ref } } },
        responses: ok,
      },
    };
    paths[`${base}/{name}`] = {
      get: { operationId: `read${k.kind}`, "x-kubernetes-action": "get", "x-kubernetes-group-version-kind": gvk, responses: ok },
      put: {
        operationId: `replace${k.kind}`,
        "x-kubernetes-action": "put",
        "x-kubernetes-group-version-kind": gvk,
        parameters: [fieldValidation, fieldManager],
        requestBody: { content: { "application/json": { schema: ref } } },
        responses: ok,
      },
      patch: {
        operationId: `patch${k.kind}`,
        "x-kubernetes-action": "patch",
        "x-kubernetes-group-version-kind": gvk,
        parameters: [fieldValidation, fieldManager, { name: "force", in: "query", schema: { type: "boolean", uniqueItems: true } }],
        requestBody: {
          content: {
            "application/merge-patch+json": { schema: { type: "object" } },
            "application/json-patch+json": { schema: { type: "object" } },
            "application/apply-patch+yaml": { schema: { type: "object" } },
          },
        },
        responses: ok,
      },
      delete: { operationId: `delete${k.kind}`, "x-kubernetes-action": "delete", "x-kubernetes-group-version-kind": gvk, responses: ok },
    };
  }
  return { openapi: "3.0.0", info: { title: "kumo", version: "v1" }, paths, components: { schemas } };
}

/** Pre-renders every document with its content hash (kubectl caches by hash). */
export function openApiIndex(kinds: KindRegistry): { index: unknown; docs: Map<string, { json: string; hash: string }> } {
  const docs = new Map<string, { json: string; hash: string }>();
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [group, versions] of kinds.groups()) {
    for (const v of versions) {
      const json = JSON.stringify(openApiDoc(kinds, group, v));
      const hash = createHash("sha512").update(json).digest("hex").slice(0, 64).toUpperCase();
      const p = gvPath(group, v);
      docs.set(p, { json, hash });
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
  }
  return { index: { paths }, docs };
}
