/** Small formatting helpers shared by the views. */

/** Age like kubectl prints it: `42s`, `5m`, `3h`, `2d`. Undefined in, "" out. */
export function age(ts: string | undefined, now = Date.now()): string {
  if (!ts) return "";
  const s = Math.max(0, Math.floor((now - Date.parse(ts)) / 1000));
  if (Number.isNaN(s)) return "";
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Seconds since `ts` (undefined when absent or unparsable). */
export function secondsSince(ts: string | undefined, now = Date.now()): number | undefined {
  if (!ts) return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : Math.max(0, (now - t) / 1000);
}

/** `1500` millicores → `1.5`; cores are what people read. */
export function cores(millicores: number | undefined): string {
  return millicores === undefined ? "–" : String(Math.round(millicores / 10) / 100);
}

/** Bytes as `12.3 MiB`. */
export function bytes(n: number | undefined): string {
  if (n === undefined) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/** A cell value for display: dates become ages, absent values a dash. */
export function cell(v: string | number | boolean | undefined, type: string, now = Date.now()): string {
  if (v === undefined || v === "") return "–";
  if (type === "date" && typeof v === "string") return age(v, now);
  return String(v);
}
