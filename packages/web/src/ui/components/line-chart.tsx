/**
 * A small SVG line chart: enough for a few series over the last minutes, no chart library. The legend
 * carries each series' latest value as text, so the numbers are readable without seeing the lines.
 */
import type { Point } from "../../lib/metric-series.js";

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
const W = 400;
const H = 140;
const PAD = { l: 44, r: 8, t: 8, b: 18 };

/** Props of LineChart. */
export interface LineChartProps {
  title: string;
  unit: string;
  series: Record<string, Point[]>;
  /** Shown instead of the chart when there are no series. */
  empty: string;
}

/** Formats a value with its unit, keeping 3 significant digits. */
export function fmt(v: number, unit: string): string {
  const n = Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);
  return `${n} ${unit}`;
}

/** The chart in a <figure>. */
export function LineChart({ title, unit, series, empty }: LineChartProps) {
  const entries = Object.entries(series)
    .filter(([, pts]) => pts.length > 0)
    .sort(([a], [b]) => a.localeCompare(b))
    .slice(0, COLORS.length);
  const all = entries.flatMap(([, pts]) => pts);
  const id = title.replace(/\W+/g, "-").toLowerCase();
  if (!all.length) {
    return (
      <figure className="chart" aria-labelledby={`${id}-t`}>
        <figcaption id={`${id}-t`}>{title}</figcaption>
        <p className="muted">{empty}</p>
      </figure>
    );
  }
  const t0 = Math.min(...all.map((p) => p.t));
  const t1 = Math.max(...all.map((p) => p.t), t0 + 1);
  const vmax = Math.max(...all.map((p) => p.v), 0) || 1;
  const x = (t: number) => PAD.l + ((t - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (v: number) => H - PAD.b - (v / vmax) * (H - PAD.t - PAD.b);
  return (
    <figure className="chart" aria-labelledby={`${id}-t`}>
      <figcaption id={`${id}-t`}>{title}</figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${title}, last ${Math.round((t1 - t0) / 1000)} s`}>
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} className="axis" />
        <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} className="axis" />
        <text x={PAD.l - 4} y={PAD.t + 8} textAnchor="end" className="tick">
          {fmt(vmax, "")}
        </text>
        <text x={PAD.l - 4} y={H - PAD.b} textAnchor="end" className="tick">
          0
        </text>
        <text x={W - PAD.r} y={H - 4} textAnchor="end" className="tick">
          now
        </text>
        <text x={PAD.l} y={H - 4} className="tick">
          -{Math.round((t1 - t0) / 1000)}s
        </text>
        {entries.map(([label, pts], i) => {
          const last = pts[pts.length - 1];
          // The marker on the newest point keeps a series visible while it has a single sample.
          return (
            <g key={label}>
              <polyline
                fill="none"
                stroke={COLORS[i]}
                strokeWidth={1.8}
                points={pts.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ")}
              />
              <circle cx={x(last.t)} cy={y(last.v)} r={2.8} fill={COLORS[i]} />
            </g>
          );
        })}
      </svg>
      <ul className="legend">
        {entries.map(([label, pts], i) => (
          <li key={label}>
            <span className="swatch" style={{ background: COLORS[i] }} aria-hidden="true" />
            {label}: <strong>{fmt(pts[pts.length - 1].v, unit)}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}
