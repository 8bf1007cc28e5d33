/** Latency statistics and number formatting for the benchmark report. */

/** Summary of a latency sample, in milliseconds. */
export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending-sorted array (q in 0..1). */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

/** Summarises latencies (ms). */
export function summarize(samples: number[]): Summary {
  const s = [...samples].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return {
    n: s.length,
    p50: percentile(s, 0.5),
    p99: percentile(s, 0.99),
    max: s[s.length - 1] ?? NaN,
    mean: s.length ? sum / s.length : NaN,
  };
}

/** Milliseconds with sensible precision. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  return v < 1 ? `${v.toFixed(3)} ms` : v < 10 ? `${v.toFixed(2)} ms` : `${v.toFixed(1)} ms`;
}

/** An integer with thousands separators. */
export function int(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString("en-US") : "n/a";
}

/** Rounds for the JSON line (3 decimals). */
export function r3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
