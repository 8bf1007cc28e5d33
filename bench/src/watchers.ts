/**
 * Watch fan-out: N watch streams (one TLS connection each, as N separate clients would have) on a
 * collection; one write; how long until each watcher has the event.
 */
import type { ClientRequest } from "node:http";
import { request } from "node:https";
import { performance } from "node:perf_hooks";
import type { Client, Target } from "./http.js";
import { summarize, type Summary } from "./stats.js";

/** Fan-out result over all rounds. */
export interface FanOut {
  watchers: number;
  rounds: number;
  /** Per delivery: write sent → event received by that watcher. */
  delivery: Summary;
  /** Per round: write sent → the last watcher got it. */
  lastWatcher: Summary;
  /** Deliveries that never arrived (within the round timeout). */
  lost: number;
  openSeconds: number;
}

interface Stream {
  req: ClientRequest;
  /** Marker this stream is waiting for, and when it saw it. */
  seen: Map<string, number>;
}

function openStream(target: Target, path: string, markers: string[], ready: () => void, failed: (e: Error) => void): Stream {
  const u = new URL(target.url);
  const seen = new Map<string, number>();
  const req = request(
    {
      host: u.hostname,
      port: u.port,
      path,
      method: "GET",
      agent: false,
      ca: target.ca,
      headers: { accept: "application/json", authorization: `Bearer ${target.token}` },
    },
    (res) => {
      if (res.statusCode !== 200) return failed(new Error(`watch answered ${res.statusCode}`));
      ready();
      let carry = "";
      res.on("data", (c: Buffer) => {
        const now = performance.now();
        const s = carry + c.toString("latin1");
        for (const m of markers) if (!seen.has(m) && s.includes(m)) seen.set(m, now);
        carry = s.slice(-64); // a marker split across two chunks
      });
      res.on("error", () => undefined);
    },
  );
  req.on("error", (e) => failed(e));
  req.end();
  return { req, seen };
}

/** Opens `n` watchers on `collection` from its current revision, makes `rounds` changes to `objectPath`. */
export async function watchFanOut(client: Client, collection: string, objectPath: string, n: number, rounds: number): Promise<FanOut> {
  const list = await client.send("GET", `${collection}?limit=1`, undefined, undefined, true);
  const rv = (JSON.parse(list.text!) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const nonce = Math.random().toString(36).slice(2, 8);
  const markers = Array.from({ length: rounds }, (_, i) => `fanout-${nonce}-${i}-end`);
  const streams: Stream[] = [];
  const openStart = performance.now();
  try {
    // Open in batches so the TLS handshakes do not all land at once.
    for (let i = 0; i < n; i += 50) {
      const batch = Math.min(50, n - i);
      await Promise.all(
        Array.from(
          { length: batch },
          () =>
            new Promise<void>((res, rej) =>
              streams.push(openStream(client.target, `${collection}?watch=1&resourceVersion=${rv}`, markers, res, rej)),
            ),
        ),
      );
    }
    const openSeconds = (performance.now() - openStart) / 1000;
    await new Promise((r) => setTimeout(r, 300));
    const delivery: number[] = [];
    const last: number[] = [];
    let lost = 0;
    for (let round = 0; round < rounds; round++) {
      const m = markers[round];
      const t0 = performance.now();
      const rep = await client.send(
        "PATCH",
        `${objectPath}?fieldManager=bench-fanout`,
        { metadata: { annotations: { "bench.kumo.dev/round": m } } },
        "application/merge-patch+json",
      );
      if (rep.status !== 200) throw new Error(`fan-out write answered ${rep.status}: ${rep.text}`);
      const deadline = t0 + 5_000;
      while (streams.some((s) => !s.seen.has(m)) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      let worst = 0;
      for (const s of streams) {
        const at = s.seen.get(m);
        if (at === undefined) lost++;
        else {
          delivery.push(at - t0);
          worst = Math.max(worst, at - t0);
        }
      }
      last.push(worst);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { watchers: n, rounds, delivery: summarize(delivery), lastWatcher: summarize(last), lost, openSeconds };
  } finally {
    for (const s of streams) s.req.destroy();
  }
}
