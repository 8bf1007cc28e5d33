/** Health at a glance: sorts objects of any kind into ok / progressing / bad by their status. */
import type { KObject } from "@kumo/api";
import { genericStatus } from "./kinds.js";

/** Counts per health bucket. */
export interface Health {
  ok: number;
  progressing: number;
  bad: number;
}

const OK = new Set(["Ready", "Running", "Active", "Bound", "Available", "Succeeded"]);
const BAD = new Set(["Failed", "NotReady", "Down", "Error", "Stopped"]);

/** The health bucket of one object; undefined for kinds without a status notion (secrets, events). */
export function healthOf(o: KObject): keyof Health | undefined {
  const s = genericStatus(o);
  if (s === undefined) return undefined;
  if (OK.has(s)) return "ok";
  if (BAD.has(s)) return "bad";
  return "progressing";
}

/** Sums health over a list; `rated` is how many objects had a status at all. */
export function summarize(items: KObject[]): Health & { rated: number } {
  const h = { ok: 0, progressing: 0, bad: 0, rated: 0 };
  for (const o of items) {
    const b = healthOf(o);
    if (!b) continue;
    h[b]++;
    h.rated++;
  }
  return h;
}
