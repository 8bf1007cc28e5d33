/**
 * Prometheus text exposition format (0.0.4) parsing and the two computations the Metrics view needs:
 * sums over label groups and histogram quantiles. Pure, so the parser is tested against real output.
 */

/** One sample line: `name{labels} value`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed scrape: samples plus the declared `# TYPE` of each metric family. */
export interface Scrape {
  samples: Sample[];
  types: Map<string, string>;
}

/** Parses exposition text; malformed lines are skipped rather than failing the whole scrape. */
export function parsePrometheusText(text: string): Scrape {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith("#")) {
      const m = line.match(/^#\s+TYPE\s+(\S+)\s+(\S+)/);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const s = parseSampleLine(line);
    if (s) samples.push(s);
  }
  return { samples, types };
}

function parseSampleLine(line: string): Sample | undefined {
  const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)/);
  if (!m) return undefined;
  const name = m[1];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === "{") {
    i++;
    // Label values may contain `,`, `}` and escaped quotes, so walk them instead of splitting.
    while (i < line.length && line[i] !== "}") {
      const lm = line.slice(i).match(/^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/);
      if (!lm) return undefined;
      i += lm[0].length;
      let v = "";
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) {
          const c = line[i + 1];
          v += c === "n" ? "\n" : c;
          i += 2;
        } else v += line[i++];
      }
      if (line[i] !== '"') return undefined;
      i++;
      labels[lm[1]] = v;
      while (line[i] === "," || line[i] === " ") i++;
    }
    if (line[i] !== "}") return undefined;
    i++;
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? "");
  return value === undefined ? undefined : { name, labels, value };
}

function parseValue(s: string): number | undefined {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (s === "") return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** Sums samples of `name` grouped by the given label names (no labels: one total under key ""). */
export function sumBy(
  samples: Sample[],
  name: string,
  by: string[] = [],
  where: (l: Record<string, string>) => boolean = () => true,
): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name || !where(s.labels)) continue;
    const key = by.map((l) => s.labels[l] ?? "").join(",");
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/** Cumulative histogram buckets (`le` upper bound → count), as found in `_bucket` series. */
export type Buckets = { le: number; count: number }[];

/** Bucket counts of histogram `name` (without `_bucket`), summed over all other labels, optionally filtered. */
export function bucketsOf(samples: Sample[], name: string, where: (l: Record<string, string>) => boolean = () => true): Buckets {
  const byLe = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !where(s.labels)) continue;
    const le = parseValue(s.labels.le ?? "");
    if (le === undefined) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + s.value);
  }
  return [...byLe].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/** Per-bucket difference `cur - prev`: the observations made between two scrapes. */
export function bucketDelta(cur: Buckets, prev: Buckets): Buckets {
  const p = new Map(prev.map((b) => [b.le, b.count]));
  // A counter that went down means the server restarted: the current counts are the whole interval.
  const reset = cur.some((b) => b.count < (p.get(b.le) ?? 0));
  return cur.map((b) => ({ le: b.le, count: reset ? b.count : b.count - (p.get(b.le) ?? 0) }));
}

/**
 * Prometheus' histogram_quantile: finds the bucket holding the q-th observation and interpolates
 * linearly inside it. Undefined when there were no observations; the highest finite bound when the
 * quantile falls into +Inf.
 */
export function histogramQuantile(q: number, buckets: Buckets): number | undefined {
  if (!buckets.length) return undefined;
  const total = buckets[buckets.length - 1].count;
  if (!(total > 0)) return undefined;
  const rank = q * total;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      return inBucket > 0 ? prevLe + ((b.le - prevLe) * (rank - prevCount)) / inBucket : b.le;
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
