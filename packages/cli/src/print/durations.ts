/** Human durations and ages for describe, history and watch output. */

/** 850ms, 4.3s, 5m12s, 3h4m, 2d3h. */
export function formatDuration(ms: number): string {
  if (ms < 0) ms = 0;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1).replace(/\.0$/, "") : Math.round(s)}s`;
  const totalS = Math.round(s);
  const m = Math.floor(totalS / 60);
  if (m < 60) return `${m}m${totalS % 60 ? `${totalS % 60}s` : ""}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ""}`;
  const d = Math.floor(h / 24);
  return `${d}d${h % 24 ? `${h % 24}h` : ""}`;
}

/** Age of an ISO timestamp in whole seconds and up ("0s", "42s", "5m12s"); "<unknown>" when unparsable. */
export function age(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  if (Number.isNaN(t)) return "<unknown>";
  const ms = Math.max(0, now - t);
  return ms < 60_000 ? `${Math.floor(ms / 1000)}s` : formatDuration(ms);
}

/** `2026-11-24 22:40:01Z`: ISO without milliseconds, readable in a table. */
export function shortTime(iso: string | undefined): string {
  if (!iso) return "<unknown>";
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d+Z$/, "Z");
}
