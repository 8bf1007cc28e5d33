/**
 * One place to declare a kind: its names, scope, schema, defaults, validation and printer columns.
 * The server derives routes, discovery, OpenAPI, Tables and validation from it; the CLI and dashboard
 * use the same definition for names and columns. Adding a kind means adding one `defineKind` call.
 */
import type { TObject } from "@sinclair/typebox";
import type { StatusCause } from "./errors.js";
import type { KObject } from "./meta.js";

/** A column of `kubectl get` / `kumo get` output. */
export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  /** Only shown with `-o wide` when > 0. */
  priority?: number;
  description?: string;
  /** Computes the cell. Dates are rendered by the server as ages ("5m"). */
  value: (obj: KObject) => string | number | boolean | undefined;
}

/** Everything the platform needs to know about one kind. */
export interface KindDefinition {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Schema of the top-level fields other than apiVersion/kind/metadata (spec, status, data, ...). Unknown fields are rejected. */
  schema: TObject;
  /** True when `status` is written only through the /status subresource. */
  statusSubresource: boolean;
  /** Extra columns after NAME (and NAMESPACE); AGE is appended automatically. */
  columns: PrinterColumn[];
  /** Fills in defaults in place (called on create and update, before validation). */
  defaults?: (obj: KObject) => void;
  /** Semantic validation beyond the schema; `old` is set on updates. */
  validate?: (obj: KObject, old?: KObject) => StatusCause[];
  /** Top-level fields whose change bumps metadata.generation (default ["spec"]). */
  generationFields?: string[];
  /** Verbs served (default: all). */
  verbs?: string[];
  /** Serves GET `<plural>/NAME/log` (read from the agent of the object's host, like pods/log). */
  logSubresource?: boolean;
}

/** Input of `defineKind`: names can be derived. */
export type KindInput = Omit<KindDefinition, "singular" | "shortNames" | "categories" | "columns" | "statusSubresource"> &
  Partial<Pick<KindDefinition, "singular" | "shortNames" | "categories" | "columns" | "statusSubresource">>;

/** Declares a kind, deriving the singular name and empty lists. */
export function defineKind(k: KindInput): KindDefinition {
  return {
    singular: k.kind.toLowerCase(),
    shortNames: [],
    categories: ["kumo"],
    columns: [],
    statusSubresource: "status" in k.schema.properties,
    ...k,
  };
}

/** `group/version` of a kind (core group: `v1`). */
export function apiVersionOfKind(k: KindDefinition): string {
  return k.group ? `${k.group}/${k.version}` : k.version;
}

/** Lookup table over kinds by plural, singular, short name and kind. */
export class KindRegistry {
  private readonly kinds: KindDefinition[] = [];

  constructor(kinds: KindDefinition[] = []) {
    for (const k of kinds) this.add(k);
  }

  /** Registers a kind; refuses duplicates so two files cannot silently claim one resource. */
  add(k: KindDefinition): void {
    if (this.kinds.some((x) => x.group === k.group && x.version === k.version && x.plural === k.plural)) {
      throw new Error(`kind ${k.kind} (${k.plural}.${k.group}) registered twice`);
    }
    this.kinds.push(k);
  }

  /** All kinds. */
  all(): readonly KindDefinition[] {
    return this.kinds;
  }

  /** The kind served at /apis/group/version/plural. */
  byResource(group: string, version: string, plural: string): KindDefinition | undefined {
    return this.kinds.find((k) => k.group === group && k.version === version && k.plural === plural);
  }

  /** The kind for an apiVersion + kind pair. */
  byKind(group: string, kind: string): KindDefinition | undefined {
    return this.kinds.find((k) => k.group === group && k.kind === kind);
  }

  /**
   * Resolves what a user typed (`hosts`, `host`, `hst`, `Host`, `hosts.infra.kumo.dev`), as kubectl does.
   */
  resolve(name: string): KindDefinition | undefined {
    const lower = name.toLowerCase();
    const dot = lower.indexOf(".");
    const base = dot < 0 ? lower : lower.slice(0, dot);
    const group = dot < 0 ? undefined : lower.slice(dot + 1);
    return this.kinds.find(
      (k) =>
        (group === undefined || k.group === group) &&
        (k.plural === base || k.singular === base || k.kind.toLowerCase() === base || k.shortNames.includes(base)),
    );
  }

  /** Group → versions served, in registration order. */
  groups(): Map<string, string[]> {
    const m = new Map<string, string[]>();
    for (const k of this.kinds) {
      const vs = m.get(k.group) ?? [];
      if (!vs.includes(k.version)) vs.push(k.version);
      m.set(k.group, vs);
    }
    return m;
  }
}
