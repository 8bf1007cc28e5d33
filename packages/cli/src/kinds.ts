/**
 * From what the user typed (`hosts`, `hst`, `host/h1`, an apiVersion+kind in a manifest) to a resource.
 * Kinds this build knows come from the shared registry (names and columns defined once, in the kind);
 * kinds only a newer server knows are found through discovery, as kubectl does.
 */
import { defaultRegistry, parseApiVersion, type KindRegistry } from "@kumo/api";
import type { KumoClient, ResourceType } from "@kumo/client";
import { UserError } from "./errors.js";

/** A resource plus the names the CLI prints (`host.infra.kumo.dev/h1`). */
export interface Resource extends ResourceType {
  singular: string;
}

interface ApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  shortNames?: string[];
}

/** Resolves resource names, consulting the server's discovery only for names the registry lacks. */
export class KindResolver {
  private discovered?: Promise<Resource[]>;

  constructor(
    private readonly client: () => KumoClient,
    readonly registry: KindRegistry = defaultRegistry(),
  ) {}

  /** `hosts`, `host`, `hst`, `Host`, `hosts.infra.kumo.dev`. */
  async byName(name: string): Promise<Resource> {
    const k = this.registry.resolve(name);
    if (k) return k;
    const lower = name.toLowerCase();
    const [base, ...groupParts] = lower.split(".");
    const group = groupParts.join(".");
    const found = (await this.discover()).find(
      (r) => (!group || r.group === group) && (r.plural === base || r.singular === base || r.kind.toLowerCase() === base),
    );
    if (!found) throw new UserError(`the server doesn't have a resource type "${name}"`);
    return found;
  }

  /** The resource of a manifest's apiVersion + kind. */
  async byKind(apiVersion: string, kind: string): Promise<Resource> {
    const { group, version } = parseApiVersion(apiVersion);
    const k = this.registry.byKind(group, kind);
    if (k && k.version === version) return k;
    const found = (await this.discover()).find((r) => r.group === group && r.version === version && r.kind === kind);
    if (!found) throw new UserError(`no kind "${kind}" is registered for version "${apiVersion}"`);
    return found;
  }

  private discover(): Promise<Resource[]> {
    this.discovered ??= this.load();
    return this.discovered;
  }

  private async load(): Promise<Resource[]> {
    const c = this.client();
    const out: Resource[] = [];
    const add = (group: string, version: string, list: { resources?: ApiResource[] }) => {
      for (const r of list.resources ?? []) {
        if (r.name.includes("/")) continue; // subresources
        out.push({
          group,
          version,
          plural: r.name,
          kind: r.kind,
          namespaced: r.namespaced,
          singular: r.singularName || r.kind.toLowerCase(),
        });
      }
    };
    add("", "v1", await c.requestJson("GET", "/api/v1"));
    const groups = await c.requestJson<{
      groups?: { name: string; preferredVersion?: { version: string }; versions?: { version: string }[] }[];
    }>("GET", "/apis");
    for (const g of groups.groups ?? []) {
      const version = g.preferredVersion?.version ?? g.versions?.[0]?.version;
      if (version) add(g.name, version, await c.requestJson("GET", `/apis/${g.name}/${version}`));
    }
    return out;
  }
}

/** `host.infra.kumo.dev` / `namespace`: how kubectl names a kind in `-o name` and messages. */
export function kindRef(r: Resource): string {
  return r.group ? `${r.singular}.${r.group}` : r.singular;
}

/** `hosts.infra.kumo.dev`: the qualified resource as Status messages name it. */
export function resourceRef(r: Resource): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

/** Splits `KIND/NAME` (or KIND plus separate names). */
export function splitKindName(kindArg: string, names: string[]): { kind: string; names: string[] } {
  const i = kindArg.indexOf("/");
  if (i < 0) return { kind: kindArg, names };
  if (names.length)
    throw new UserError(`there is no need to specify a resource type as a separate argument when passing arguments in resource/name form`);
  return { kind: kindArg.slice(0, i), names: [kindArg.slice(i + 1)] };
}
