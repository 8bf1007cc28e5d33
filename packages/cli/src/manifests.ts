/** Reading objects from `-f FILE` (multi-document YAML or JSON; `-` is stdin; a directory means its files). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KObject } from "@kumo/api";
import { UserError } from "./errors.js";

/** An object read from a file, with where it came from for messages. */
export interface Manifest {
  obj: KObject;
  source: string;
}

/** Reads every object of every source, in order. */
export function readManifests(sources: string[], stdin: () => string = () => readFileSync(0, "utf8")): Manifest[] {
  if (sources.length === 0) throw new UserError("must specify -f FILE (use -f - for stdin)");
  const out: Manifest[] = [];
  for (const src of sources) {
    for (const file of expand(src)) {
      const text = file === "-" ? stdin() : readText(file);
      const name = file === "-" ? "STDIN" : file;
      for (const obj of parseManifests(text, name)) out.push({ obj, source: name });
    }
  }
  return out;
}

function expand(src: string): string[] {
  if (src === "-") return ["-"];
  let st;
  try {
    st = statSync(src);
  } catch {
    throw new UserError(`the path "${src}" does not exist`);
  }
  if (!st.isDirectory()) return [src];
  return readdirSync(src)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(src, f));
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** Parses YAML (multi-document) or JSON text into objects; `kind: List` is expanded into its items. */
export function parseManifests(text: string, source: string): KObject[] {
  const values: unknown[] = [];
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const v: unknown = JSON.parse(text);
      values.push(...(Array.isArray(v) ? (v as unknown[]) : [v]));
    } catch (e) {
      throw new UserError(`error parsing ${source}: ${(e as Error).message}`);
    }
  } else {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new UserError(`error parsing ${source}: ${doc.errors[0].message.split("\n")[0].replace(/:$/, "")}`);
      const v: unknown = doc.toJS();
      if (v !== null && v !== undefined) values.push(v);
    }
  }
  const objs: KObject[] = [];
  for (const v of values) {
    const o = v as Partial<KObject>;
    if (typeof o !== "object" || o === null || Array.isArray(o))
      throw new UserError(`error parsing ${source}: expected an object, got ${JSON.stringify(v).slice(0, 60)}`);
    if (o.kind === "List" || (typeof o.kind === "string" && o.kind.endsWith("List") && Array.isArray(o.items))) {
      for (const item of o.items as unknown[]) objs.push(...parseManifests(JSON.stringify(item), source));
      continue;
    }
    if (typeof o.apiVersion !== "string" || !o.apiVersion) throw new UserError(`error validating ${source}: apiVersion not set`);
    if (typeof o.kind !== "string" || !o.kind) throw new UserError(`error validating ${source}: kind not set`);
    if (typeof o.metadata !== "object" || o.metadata === null) o.metadata = {};
    objs.push(o as KObject);
  }
  return objs;
}
