/** Shared by create/apply/delete -f: where each manifest goes, and per-object error reporting. */
import type { KObject } from "@kumo/api";
import type { CliContext } from "./context.js";
import { AlreadyReported, formatError, UserError } from "./errors.js";
import type { Resource } from "./kinds.js";
import type { Manifest } from "./manifests.js";

/** A manifest resolved to its resource and namespace. */
export interface Target {
  r: Resource;
  obj: KObject;
  ns?: string;
  source: string;
}

/** Resolves the kind and namespace of a manifest (`-n` must agree with metadata.namespace, as kubectl insists). */
export async function resolveTarget(ctx: CliContext, m: Manifest): Promise<Target> {
  const r = await ctx.kinds.byKind(m.obj.apiVersion, m.obj.kind);
  const obj: KObject = { ...m.obj, metadata: { ...m.obj.metadata } };
  if (!r.namespaced) {
    delete obj.metadata.namespace;
    return { r, obj, source: m.source };
  }
  const explicit = ctx.flags.namespace;
  const own = obj.metadata.namespace;
  if (explicit && own && explicit !== own) {
    throw new UserError(
      `the namespace from the provided object "${own}" does not match the namespace "${explicit}" (${m.source}): ` +
        `pass --namespace=${own} or remove it from the file`,
    );
  }
  const ns = own ?? ctx.namespace;
  obj.metadata.namespace = ns;
  return { r, obj, ns, source: m.source };
}

/**
 * Runs `act` for each manifest in order, printing its one-line result; a failure prints one error
 * line and the others still run (as kubectl does). Exit code 1 if any failed.
 */
export async function forEachManifest(
  ctx: CliContext,
  manifests: Manifest[],
  act: (t: Target) => Promise<string | undefined>,
): Promise<void> {
  let failed = 0;
  for (const m of manifests) {
    try {
      const line = await act(await resolveTarget(ctx, m));
      if (line) process.stdout.write(line + "\n");
    } catch (e) {
      failed++;
      process.stderr.write(`error: ${formatError(e)}\n`);
      // Nothing else will get through if the API cannot be reached: stop after the first.
      if ((e as Error).name === "ConnectionError") break;
    }
  }
  if (failed) throw new AlreadyReported();
}
