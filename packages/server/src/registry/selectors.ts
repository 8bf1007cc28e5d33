/** Label selectors (`a=b,c!=d,e in (x,y),!f`) and field selectors (`metadata.name=x,involvedObject.uid=y`). */
import { badRequest, type KObject } from "@kumo/api";

/** One requirement of a label selector. */
export interface Requirement {
  key: string;
  op: "=" | "!=" | "in" | "notin" | "exists" | "!exists";
  values: string[];
}

/** Parses a label selector; throws 400 naming the bad part. */
export function parseLabelSelector(s: string | undefined): Requirement[] {
  if (!s) return [];
  const reqs: Requirement[] = [];
  // split on commas that are not inside parentheses
  const parts: string[] = [];
  let depth = 0,
    cur = "";
  for (const ch of s) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(cur);
      cur = "";
    } else cur += ch;
  }
  parts.push(cur);
  for (const raw of parts) {
    const p = raw.trim();
    if (!p) continue;
    let m: RegExpMatchArray | null;
    if ((m = p.match(/^([A-Za-z0-9._/-]+)\s+(in|notin)\s+\(([^)]*)\)$/))) {
      reqs.push({
        key: m[1],
        op: m[2] as "in" | "notin",
        values: m[3]
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      });
    } else if ((m = p.match(/^([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)$/))) {
      reqs.push({ key: m[1], op: m[2] === "!=" ? "!=" : "=", values: [m[3]] });
    } else if ((m = p.match(/^!\s*([A-Za-z0-9._/-]+)$/))) {
      reqs.push({ key: m[1], op: "!exists", values: [] });
    } else if ((m = p.match(/^([A-Za-z0-9._/-]+)$/))) {
      reqs.push({ key: m[1], op: "exists", values: [] });
    } else {
      throw badRequest(`unable to parse requirement: "${p}": found unexpected token in label selector "${s}"`);
    }
  }
  return reqs;
}

/** True when labels satisfy every requirement. */
export function matchLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.values[0];
      case "!=":
        return !has || l[r.key] !== r.values[0];
      case "in":
        return has && r.values.includes(l[r.key]);
      case "notin":
        return !has || !r.values.includes(l[r.key]);
      case "exists":
        return has;
      case "!exists":
        return !has;
    }
  });
}

/** One field selector term. */
export interface FieldTerm {
  path: string[];
  negate: boolean;
  value: string;
}

/** Parses `a.b=c,d!=e`. Any dotted path is allowed (kumo is lenient where Kubernetes whitelists per kind). */
export function parseFieldSelector(s: string | undefined): FieldTerm[] {
  if (!s) return [];
  return s
    .split(",")
    .filter((x) => x.trim())
    .map((term) => {
      const m = term.trim().match(/^([A-Za-z0-9._]+)\s*(==|=|!=)\s*(.*)$/);
      if (!m) throw badRequest(`invalid field selector: "${term}" (expected path=value or path!=value)`);
      return { path: m[1].split("."), negate: m[2] === "!=", value: m[3] };
    });
}

/** True when the object satisfies every field term (missing fields compare as ""). */
export function matchFields(terms: FieldTerm[], obj: KObject): boolean {
  return terms.every((t) => {
    let cur: unknown = obj;
    for (const seg of t.path) cur = cur && typeof cur === "object" ? (cur as Record<string, unknown>)[seg] : undefined;
    const v = cur === undefined || cur === null ? "" : String(cur);
    return t.negate ? v !== t.value : v === t.value;
  });
}

/** The name a field selector pins, if any (lets list/watch of one object skip a full scan). */
export function pinnedName(terms: FieldTerm[]): string | undefined {
  return terms.find((t) => !t.negate && t.path.join(".") === "metadata.name")?.value;
}
