/**
 * Metrics: the dashboard samples the server's /metrics (same bearer token as the API) every few
 * seconds and charts the key series. Drift repairs come from Host status, because agents serve their
 * own /metrics on the hosts, not through the API server.
 */
import { useEffect, useState } from "react";
import type { KObject } from "@kumo/api";
import { findKind } from "../../lib/kinds.js";
import { appendFrame, CHARTS, deriveFrame, type History, type HostLike, type TimedScrape } from "../../lib/metric-series.js";
import { parsePrometheusText } from "../../lib/prom.js";
import { ErrorBox } from "../components/error-box.js";
import { LineChart } from "../components/line-chart.js";
import { useSession } from "../session.js";

/** How often the dashboard samples. */
export const SAMPLE_MS = 3000;

// Kept across navigation, so coming back to the view shows the minutes already sampled.
let kept: { history: History; prev?: TimedScrape; samples: number } = { history: {}, samples: 0 };

const EMPTY: Record<string, string> = {
  latency: "Needs two samples…",
  requests: "Needs two samples…",
  conflicts: "No 409 conflicts so far.",
  watchers: "No open watches.",
  queue: "This server exports no reconcile queue-depth series.",
  heartbeat: "No host heartbeats (no agents registered).",
  drift: "No host reports dataplane drift repairs.",
};

/** The Metrics view. */
export function Metrics() {
  const { client, kinds } = useSession();
  const hostKind = findKind(kinds, { group: "infra.kumo.dev", plural: "hosts" });
  const [state, setState] = useState(kept);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sample = async () => {
      try {
        const [text, hosts] = await Promise.all([
          client.request("GET", "/metrics", { accept: "text/plain", signal: ac.signal }).then((r) => r.text()),
          hostKind
            ? client.listAll<KObject>(hostKind, undefined, { signal: ac.signal }).then((l) => l.items as HostLike[])
            : Promise.resolve([]),
        ]);
        const cur: TimedScrape = { t: Date.now(), scrape: parsePrometheusText(text) };
        kept = { history: appendFrame(kept.history, cur.t, deriveFrame(cur, kept.prev, hosts)), prev: cur, samples: kept.samples + 1 };
        setState(kept);
        setError(undefined);
      } catch (e) {
        if (!ac.signal.aborted) setError(e);
      }
      if (!ac.signal.aborted) timer = setTimeout(next, SAMPLE_MS);
    };
    // sample() shows its own failures; anything else it throws is shown the same way.
    const next = () => {
      sample().catch((e: unknown) => setError(e));
    };
    next();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [client, hostKind]);
  return (
    <>
      <h1 tabIndex={-1}>Metrics</h1>
      <p className="muted" aria-live="polite">
        Sampled from <code>/metrics</code> every {SAMPLE_MS / 1000} s by this page · {state.samples} sample{state.samples === 1 ? "" : "s"}
      </p>
      <ErrorBox error={error} title="Sampling /metrics failed (retrying)" />
      <div className="charts">
        {CHARTS.map((c) => (
          <LineChart key={c.id} title={c.title} unit={c.unit} series={state.history[c.id] ?? {}} empty={EMPTY[c.id] ?? "No data."} />
        ))}
      </div>
    </>
  );
}
