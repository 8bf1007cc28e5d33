/** Ordering conditions into a timeline (pure, so the order rules are unit-tested). */
import type { Condition } from "@kumo/api";

/** Reason given to steps of a known flow that no controller has reported yet. */
export const NOT_REACHED = "NotReached";

/**
 * Orders conditions by when they became True; the rest (False/Unknown, or without a time) come after,
 * in the flow's declared step order, so a timeline reads as "what happened, then where it stopped".
 */
export function orderConditions(conds: Condition[], stepOrder: readonly string[] = []): Condition[] {
  const rank = (c: Condition) => {
    const i = stepOrder.indexOf(c.type);
    return i < 0 ? stepOrder.length : i;
  };
  const time = (c: Condition) => (c.status === "True" && c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : Infinity);
  return [...conds].sort((a, b) => (time(a) !== time(b) ? time(a) - time(b) : rank(a) - rank(b)));
}

/** The timeline of a known flow: reported conditions plus the unreported steps (Unknown/NotReached) in flow order. */
export function timelineOf(conds: Condition[], stepOrder: readonly string[]): Condition[] {
  const missing = stepOrder
    .filter((t) => !conds.some((c) => c.type === t))
    .map((type): Condition => ({ type, status: "Unknown", reason: NOT_REACHED }));
  return orderConditions([...conds, ...missing], stepOrder);
}
