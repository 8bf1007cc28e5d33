/**
 * The agent-owned part of an Instance's status, built up during one pass and merged into the
 * current object with `setCondition` (a condition's timestamp moves only when its status changes:
 * that is the create-flow timeline). Steps done "per run" (Started, Running, a VM's
 * AddressAssigned) move again when the runtime was (re)started after they last turned True, so a
 * restart or reboot shows up in the timeline instead of keeping the first boot's times.
 */
import { INSTANCE_STEPS, type Condition, type Instance, type InstanceStatus, setCondition, stepTimeline } from "@kumo/api";

/** The steps the agent of status.host reports (Scheduled and PortBound are the server's). */
export const AGENT_STEPS = ["ImageReady", "NetworkReady", "Started", "AddressAssigned", "Running"] as const;

/** One agent step. */
export type AgentStep = (typeof AGENT_STEPS)[number];

/** A condition the pass wants, plus when it happened and whether it belongs to the current run. */
export interface StepCondition {
  type: AgentStep;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  /** When it happened (default: the write time). */
  at?: string;
  /** Re-transition when it last turned True before the current run started. */
  perRun?: boolean;
}

/** What one pass observed for one instance. */
export class StatusReport {
  readonly conditions = new Map<AgentStep, StepCondition>();
  phase?: InstanceStatus["phase"];
  message?: string;
  acceleration?: InstanceStatus["acceleration"];
  startedAt?: string;
  restarts?: number;
  /** Start of the runtime's current run (drives perRun conditions). */
  runStartedAt?: string;

  /** Sets (or replaces) one step's condition. */
  set(c: StepCondition): this {
    this.conditions.set(c.type, c);
    return this;
  }

  /** A step done. */
  done(type: AgentStep, reason: string, message: string, o: { at?: string; perRun?: boolean } = {}): this {
    return this.set({ type, status: "True", reason, message, ...o });
  }

  /** The step the flow stopped at: condition False, phase Starting (unless given), message = why. */
  blocked(type: AgentStep, reason: string, message: string, phase: InstanceStatus["phase"] = "Starting"): this {
    this.phase = phase;
    this.message = message;
    return this.set({ type, status: "False", reason, message });
  }

  /** True when nothing was reported. */
  get empty(): boolean {
    return this.conditions.size === 0 && this.phase === undefined && this.message === undefined;
  }
}

/** Merges a report into the instance's status (pure; returns a new object). */
export function applyReport(cur: Instance, r: StatusReport, now = new Date().toISOString()): Instance {
  const st: InstanceStatus = { ...(cur.status ?? {}) };
  let conds = st.conditions ? [...st.conditions] : undefined;
  const runStart = Date.parse(r.runStartedAt ?? "");
  for (const c of r.conditions.values()) {
    const prev = conds?.find((x) => x.type === c.type);
    const cond: Condition = { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: c.at };
    const stale = c.perRun && c.status === "True" && prev?.status === "True" && Date.parse(prev.lastTransitionTime ?? "") < runStart;
    // A step still done keeps the words it was done with (no write per pass for a new message).
    if (prev?.status === "True" && c.status === "True" && !stale) continue;
    // A restart in between was not observed as a False state; record the transition it implies.
    if (stale) conds = setCondition(conds, { ...cond, status: "False", lastTransitionTime: undefined }, now);
    conds = setCondition(conds, cond, now);
  }
  if (conds) st.conditions = sortSteps(conds);
  if (r.phase !== undefined) st.phase = r.phase;
  if (r.message !== undefined) st.message = r.message || undefined;
  if (r.acceleration !== undefined) st.acceleration = r.acceleration;
  if (r.startedAt !== undefined) st.startedAt = r.startedAt;
  if (r.restarts !== undefined) st.restarts = r.restarts;
  for (const k of Object.keys(st) as (keyof InstanceStatus)[]) if (st[k] === undefined) delete st[k];
  return { ...cur, status: st };
}

// Conditions in create-flow order (others after), so the stored list reads like the flow.
function sortSteps(conds: Condition[]): Condition[] {
  const idx = (t: string) => {
    const i = (INSTANCE_STEPS as readonly string[]).indexOf(t);
    return i < 0 ? INSTANCE_STEPS.length : i;
  };
  return [...conds].sort((a, b) => idx(a.type) - idx(b.type));
}

/** Agent steps that turned True between `before` and `after`, with their latency (for the histogram). */
export function newlyDone(before: Instance, after: Instance): { step: AgentStep; ms: number }[] {
  const was = new Map((before.status?.conditions ?? []).map((c) => [c.type, c]));
  const out: { step: AgentStep; ms: number }[] = [];
  for (const s of stepTimeline(after)) {
    if (!(AGENT_STEPS as readonly string[]).includes(s.step) || s.status !== "True" || s.sincePreviousMs === undefined) continue;
    const old = was.get(s.step);
    if (old?.status === "True" && old.lastTransitionTime === s.at) continue;
    out.push({ step: s.step as AgentStep, ms: Math.max(0, s.sincePreviousMs) });
  }
  return out;
}
