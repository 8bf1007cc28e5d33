/**
 * `kumo describe` rendering (pure, so it is tested without a server): identity, labels and
 * annotations, spec/status as YAML, conditions as a timeline (when each step happened and how long
 * it took since the previous one: where time went and where it stopped), and recent Events.
 */
import { stringify as toYaml } from "yaml";
import type { Condition, KObject } from "@kumo/api";
import { alignColumns } from "./columns.js";
import { age, formatDuration, shortTime } from "./durations.js";

/** The fields of a core/v1 Event that describe shows. */
export interface EventLike extends KObject {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
}

/** What to show besides the object. */
export interface DescribeInput {
  obj: KObject;
  /** Events about the object, or an error text when they could not be read. */
  events: EventLike[] | string;
  now?: number;
  /** How many events to show (the most recent). */
  maxEvents?: number;
}

/** The describe text, as lines. */
export function describeLines(d: DescribeInput): string[] {
  const { obj } = d;
  const now = d.now ?? Date.now();
  const m = obj.metadata;
  const out = [field("Name:", m.name ?? "")];
  if (m.namespace) out.push(field("Namespace:", m.namespace));
  out.push(field("Kind:", `${obj.kind} (${obj.apiVersion})`));
  out.push(...mapLines("Labels:", m.labels, "="), ...mapLines("Annotations:", m.annotations, ": "));
  out.push(
    field("Created:", m.creationTimestamp ? `${shortTime(m.creationTimestamp)} (${age(m.creationTimestamp, now)} ago)` : "<unknown>"),
  );
  out.push(field("UID:", m.uid ?? "<none>"), field("Resource Version:", m.resourceVersion ?? "<none>"));
  if (m.generation !== undefined) out.push(field("Generation:", String(m.generation)));
  if (m.ownerReferences?.length)
    out.push(field("Owned By:", m.ownerReferences.map((r) => `${r.kind}/${r.name}${r.controller ? " (controller)" : ""}`).join(", ")));
  if (m.finalizers?.length) out.push(field("Finalizers:", m.finalizers.join(", ")));
  if (m.deletionTimestamp) out.push(field("Deleting Since:", `${shortTime(m.deletionTimestamp)} (${age(m.deletionTimestamp, now)} ago)`));
  for (const [k, v] of Object.entries(obj)) {
    if (k === "apiVersion" || k === "kind" || k === "metadata") continue;
    const value = k === "status" && isRecord(v) ? withoutConditions(v) : v;
    if (value === undefined || (isRecord(value) && Object.keys(value).length === 0)) continue;
    out.push(`${capitalize(k)}:`, ...yamlBlock(value));
  }
  out.push(...conditionTimeline(conditionsOf(obj), m.creationTimestamp, now));
  out.push(...eventLines(d.events, now, d.maxEvents ?? 20));
  return out;
}

/** status.conditions, if the object has them. */
export function conditionsOf(obj: KObject): Condition[] | undefined {
  const s = obj.status;
  return isRecord(s) && Array.isArray(s.conditions) ? (s.conditions as Condition[]) : undefined;
}

/** Conditions sorted by transition time, each with the time since the previous step (the first: since creation). */
export function conditionTimeline(conds: Condition[] | undefined, created: string | undefined, now = Date.now()): string[] {
  if (!conds?.length) return [field("Conditions:", "<none>")];
  const sorted = [...conds].sort((a, b) => sortKey(a.lastTransitionTime) - sortKey(b.lastTransitionTime));
  const rows: string[][] = [["TIME", "STEP", "TYPE", "STATUS", "REASON", "MESSAGE"]];
  let prev = time(created);
  for (const c of sorted) {
    const t = time(c.lastTransitionTime);
    const step = Number.isNaN(t) || Number.isNaN(prev) ? "" : `+${formatDuration(t - prev)}`;
    rows.push([shortTime(c.lastTransitionTime), step, c.type, c.status, c.reason ?? "", oneLine(c.message ?? "")]);
    if (!Number.isNaN(t)) prev = t;
  }
  const lines = ["Conditions:", ...alignColumns(rows).map((l) => `  ${l}`)];
  const first = time(created);
  const last = time(sorted[sorted.length - 1].lastTransitionTime);
  if (!Number.isNaN(first) && !Number.isNaN(last)) {
    const pending = sorted.filter((c) => c.status !== "True").map((c) => c.type);
    const tail = pending.length ? `; not True: ${pending.join(", ")} (last change ${formatDuration(now - last)} ago)` : "";
    lines.push(`  ${formatDuration(last - first)} from creation to the last step${tail}`);
  }
  return lines;
}

function eventLines(events: EventLike[] | string, now: number, max: number): string[] {
  if (typeof events === "string") return [field("Events:", `<unavailable: ${events}>`)];
  if (!events.length) return [field("Events:", "<none>")];
  const when = (e: EventLike) => e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata.creationTimestamp ?? undefined;
  const sorted = [...events].sort((a, b) => sortKey(when(a)) - sortKey(when(b))).slice(-max);
  const rows = [["LAST SEEN", "TYPE", "REASON", "FROM", "MESSAGE"]];
  for (const e of sorted) {
    const count = e.count && e.count > 1 ? ` (x${e.count})` : "";
    rows.push([
      age(when(e), now) + count,
      e.type ?? "",
      e.reason ?? "",
      e.source?.component ?? e.reportingComponent ?? "",
      oneLine(e.message ?? ""),
    ]);
  }
  return ["Events:", ...alignColumns(rows).map((l) => `  ${l}`)];
}

/** Width of the label column of the header fields. */
const LABEL_WIDTH = "Resource Version:  ".length;

function field(label: string, value: string): string {
  return label.padEnd(LABEL_WIDTH) + value;
}

function mapLines(title: string, m: Record<string, string> | undefined, sep: string): string[] {
  const pad = LABEL_WIDTH;
  const entries = Object.entries(m ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (!entries.length) return [title.padEnd(pad) + "<none>"];
  return entries.map(([k, v], i) => (i === 0 ? title.padEnd(pad) : " ".repeat(pad)) + `${k}${sep}${oneLine(v)}`);
}

function yamlBlock(v: unknown): string[] {
  return toYaml(v, { lineWidth: 0 })
    .trimEnd()
    .split("\n")
    .map((l) => `  ${l}`);
}

function withoutConditions(s: Record<string, unknown>): Record<string, unknown> {
  const { conditions: _c, ...rest } = s;
  return rest;
}

function time(iso: string | undefined | null): number {
  return iso ? Date.parse(iso) : NaN;
}

/** Undated entries sort last instead of breaking the comparator with NaN. */
function sortKey(iso: string | undefined | null): number {
  const t = time(iso);
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ");
}
