/**
 * An Instance's create flow as a timeline (`kumo describe instance`, the agent's step latency metrics):
 * pure, so the CLI and the agent read the same steps without the CLI importing agent code.
 */
import type { Condition } from "../meta.js";
import { INSTANCE_STEPS, type Instance } from "./compute.js";

/** One step of the timeline: when it last changed and the time since the step before it. */
export interface TimelineStep {
  step: string;
  status: string;
  at?: string;
  /** ms since the previous True step (the first: since creation). */
  sincePreviousMs?: number;
  reason?: string;
  message?: string;
}

/**
 * The create-flow steps: True steps in the order they happened, each with the time since the one
 * before (the first: since creation), then the steps not done yet in flow order (where it stopped).
 */
export function stepTimeline(inst: Instance): TimelineStep[] {
  const conds = inst.status?.conditions ?? [];
  const order = (t: string) => (INSTANCE_STEPS as readonly string[]).indexOf(t);
  const time = (c: Condition) => Date.parse(c.lastTransitionTime ?? "");
  const done = conds
    .filter((c) => order(c.type) >= 0 && c.status === "True" && !Number.isNaN(time(c)))
    .sort((a, b) => time(a) - time(b) || order(a.type) - order(b.type));
  let prev = Date.parse(inst.metadata.creationTimestamp ?? "");
  const out: TimelineStep[] = [];
  for (const c of done) {
    const t = time(c);
    const sincePreviousMs = Number.isNaN(prev) ? undefined : t - prev;
    out.push({ step: c.type, status: c.status, at: c.lastTransitionTime, sincePreviousMs, reason: c.reason, message: c.message });
    prev = t;
  }
  for (const step of INSTANCE_STEPS) {
    if (done.some((c) => c.type === step)) continue;
    const c = conds.find((x) => x.type === step);
    out.push(c ? { step, status: c.status, at: c.lastTransitionTime, reason: c.reason, message: c.message } : { step, status: "Pending" });
  }
  return out;
}
