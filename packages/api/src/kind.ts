/**
 * One place to declare a kind: its names, scope, schema, defaults, validation and printer columns.
 * The server derives routes, discovery, OpenAPI, Tables and validation from it; the CLI and dashboard
 * use the same definition for names and columns. Adding a kind means adding one `defineKind` call.
 */
import type { Static, TObject } from "@sinclair/typebox";
import type { StatusCause } from "./errors.js";
import type { KObject } from "./meta.js";

/** A column of `kubectl get` / `kumo get` output; `O` is the object type the cell is computed from. */
export interface PrinterColumn<O extends KObject = KObject> {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  /** Only shown with `-o wide` when > 0. */
  priority?: number;
  description?: string;
  /** Computes the cell. Dates are rendered by the server as ages ("5m"). */
  value: (obj: O) => string | number | boolean | undefined;
}

/** What every kind declares, whether given to `defineKind` or read back from it. */
interface KindCommon {
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
  /** Top-level fields whose change bumps metadata.generation (default ["spec"]). */
  generationFields?: string[];
  /** Verbs served (default: all). */
  verbs?: string[];
  /** Serves GET `<plural>/NAME/log` (read from the agent of the object's host, like pods/log). */
  logSubresource?: boolean;
}

/**
 * Everything the platform needs to know about one kind; `S` and `St` are its spec and status types and
 * `O` its object type (all derived from the schema by `defineKind`). The hooks take plain `KObject`s
 * because their callers (the object store, the Table printer) hold objects of any kind.
 */
export interface KindDefinition<S = unknown, St = unknown, O extends KObject = KObject<S, St>> extends KindCommon {
  /** Extra columns after NAME (and NAMESPACE); AGE is appended automatically. */
  columns: PrinterColumn[];
  /** Fills in defaults in place (called on create and update, before validation). */
  defaults?: (obj: KObject) => void;
  /** Semantic validation beyond the schema; `old` is set on updates. */
  validate?: (obj: KObject, old?: KObject) => StatusCause[];
  /**
   * Type-only, never set: carries the types so `ObjectOf<K>` can read them back (as TypeBox's `static`).
   * A method, so its parameter is bivariant: typed and plain definitions stay assignable to each other.
   */
  types?(carrier: { spec: S; status: St; object: O }): void;
}

/** The object type of a kind: `ObjectOf<typeof NetworkKind>` is `Network`; `ObjectOf<KindDefinition>` is `KObject`. */
export type ObjectOf<K extends KindDefinition> = Parameters<NonNullable<K["types"]>>[0]["object"];

/** The static type of the body field `F` of schema `B` (`unknown` when the kind has no such field). */
export type BodyField<B extends TObject, F extends string> = F extends keyof B["properties"] ? Static<B["properties"][F]> : unknown;

/** Body fields other than spec and status (a Role's rules, a Secret's data). */
type BodyRest<B extends TObject> = Omit<Static<B>, "spec" | "status">;

/** The object type a body schema describes. */
export type ObjectOfSchema<B extends TObject> = keyof BodyRest<B> extends never
  ? KObject<BodyField<B, "spec">, BodyField<B, "status">>
  : KObject<BodyField<B, "spec">, BodyField<B, "status">> & BodyRest<B>;

/** The definition `defineKind` returns for body schema `B`. */
export type KindOfSchema<B extends TObject> = KindDefinition<BodyField<B, "spec">, BodyField<B, "status">, ObjectOfSchema<B>>;

/** Input of `defineKind`: names can be derived, and the hooks see objects typed by `schema`. */
export type KindInput<B extends TObject> = Omit<KindCommon, "schema" | "singular" | "shortNames" | "categories" | "statusSubresource"> &
  Partial<Pick<KindCommon, "singular" | "shortNames" | "categories" | "statusSubresource">> & {
    schema: B;
    columns?: PrinterColumn<ObjectOfSchema<B>>[];
    defaults?: (obj: ObjectOfSchema<B>) => void;
    validate?: (obj: ObjectOfSchema<B>, old?: ObjectOfSchema<B>) => StatusCause[];
  };

/** Declares a kind, deriving the singular name, empty lists, and the spec/status types from `schema`. */
export function defineKind<B extends TObject>(k: KindInput<B>): KindOfSchema<B> {
  // The one widening of the typed hooks to KObject: the store validates against `schema` before
  // `validate` runs and the printer only sees stored objects; `defaults` runs before validation, so
  // the kinds' defaults tolerate missing fields (they did so when they cast, too).
  return {
    singular: k.kind.toLowerCase(),
    shortNames: [],
    categories: ["kumo"],
    columns: [],
    statusSubresource: "status" in k.schema.properties,
    ...k,
  } as KindOfSchema<B>;
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
