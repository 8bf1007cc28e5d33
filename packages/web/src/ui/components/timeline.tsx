/**
 * Conditions as a timeline: each step with when it last changed and why, in the order it happened,
 * so "where did the time go, where did it stop" is visible at a glance (the Instance create flow).
 */
import type { Condition } from "@kumo/api";
import { NOT_REACHED, timelineOf } from "../../lib/conditions.js";
import { age } from "../../lib/format.js";

/** Props of Timeline. */
export interface TimelineProps {
  conditions: Condition[];
  stepOrder?: readonly string[];
  now: number;
}

/** An ordered list, one item per condition. */
export function Timeline({ conditions, stepOrder, now }: TimelineProps) {
  if (!conditions.length && !stepOrder?.length) return <p className="muted">No conditions reported yet.</p>;
  const ordered = timelineOf(conditions, stepOrder ?? []);
  const start = Math.min(...ordered.map((c) => (c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : Infinity)));
  return (
    <ol className="timeline" aria-label="Conditions timeline">
      {ordered.map((c) => {
        const t = c.lastTransitionTime ? Date.parse(c.lastTransitionTime) : undefined;
        return (
          <li
            key={c.type}
            className={`step step-${c.status.toLowerCase()}${c.reason === NOT_REACHED && !c.lastTransitionTime ? " step-pending" : ""}`}
            data-condition={c.type}
          >
            <span className="step-dot" aria-hidden="true" />
            <div>
              <strong>{c.type}</strong>{" "}
              {c.reason === NOT_REACHED && !c.lastTransitionTime ? (
                <span className="badge badge-none">not reached</span>
              ) : (
                <>
                  <span className={`badge badge-${c.status === "True" ? "ok" : c.status === "False" ? "bad" : "progressing"}`}>
                    {c.status}
                  </span>
                  {c.reason && <span className="reason"> {c.reason}</span>}
                </>
              )}
              {t !== undefined && (
                <span className="muted" title={c.lastTransitionTime}>
                  {" "}
                  · {age(c.lastTransitionTime, now)} ago
                  {Number.isFinite(start) && t > start ? ` (+${((t - start) / 1000).toFixed(1)} s)` : ""}
                </span>
              )}
              {c.message && <div className="muted">{c.message}</div>}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
