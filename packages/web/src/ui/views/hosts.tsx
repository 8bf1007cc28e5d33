/**
 * Hosts: capacity vs allocation, heartbeat age (ticking locally between updates), readiness, VTEP,
 * and the agent's desired vs actual dataplane counts with drift. Live through one watch on hosts.
 */
import { VTEP_IP_ANNOTATION, type Host } from "@kumo/api";
import { cores, secondsSince } from "../../lib/format.js";
import { findKind } from "../../lib/kinds.js";
import { href } from "../../lib/routes.js";
import { Badge } from "../components/badge.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { useLiveList, useNow } from "../hooks.js";
import { useSession } from "../session.js";

const ENTRY_TYPES = ["bridge", "vxlan", "fdb", "neighbour", "flood", "route", "address"];
/** A heartbeat older than this is shown as late (the lifecycle controller's grace is longer). */
const LATE_S = 30;

/** The Hosts view. */
export function Hosts() {
  const { kinds } = useSession();
  const kind = findKind(kinds, { group: "infra.kumo.dev", plural: "hosts" });
  const live = useLiveList<Host>(kind);
  const now = useNow(1000);
  const hosts = live.state.items;
  const types = [...new Set([...ENTRY_TYPES, ...hosts.flatMap((h) => Object.keys(h.status?.dataplane?.entries ?? {}))])];
  return (
    <>
      <h1 tabIndex={-1}>Hosts</h1>
      {!kind && (
        <p className="error" role="alert">
          This server does not serve infra.kumo.dev hosts.
        </p>
      )}
      <ErrorBox error={live.error} title="Live updates interrupted (retrying)" />
      {kind && !live.synced && !live.error && <Loading what="hosts" />}
      {live.synced && !hosts.length && (
        <p className="muted">
          No hosts have registered. Hosts appear here when their agent starts (<code>kumo up</code> starts some).
        </p>
      )}
      {!!hosts.length && kind && (
        <>
          <table className="table" aria-label="Hosts">
            <thead>
              <tr>
                <th scope="col">Host</th>
                <th scope="col">Ready</th>
                <th scope="col">Heartbeat</th>
                <th scope="col">VTEP</th>
                <th scope="col">CPU (cores)</th>
                <th scope="col">Memory</th>
                <th scope="col">Instances</th>
                <th scope="col">Drift repairs</th>
                <th scope="col">Problems</th>
              </tr>
            </thead>
            <tbody>
              {hosts.map((h) => {
                const ready = h.status?.conditions?.find((c) => c.type === "Ready");
                const hb = secondsSince(h.status?.lastHeartbeatTime, now);
                const alloc = h.status?.allocated ?? {};
                const cap = h.status?.allocatable ?? h.spec?.capacity ?? {};
                const problems = h.status?.dataplane?.problems ?? [];
                const vtep = h.metadata.annotations?.[VTEP_IP_ANNOTATION];
                return (
                  <tr key={h.metadata.name} data-host={h.metadata.name}>
                    <th scope="row">
                      <a href={href({ view: "detail", kind: kind.key, name: h.metadata.name ?? "" })}>{h.metadata.name}</a>
                    </th>
                    <td>
                      <Badge status={ready ? (ready.status === "True" ? "Ready" : "NotReady") : "Unknown"} />
                      {ready?.reason && ready.status !== "True" ? <div className="muted">{ready.reason}</div> : null}
                    </td>
                    <td className={hb !== undefined && hb > LATE_S ? "warn" : undefined}>
                      {hb === undefined ? "never" : `${Math.round(hb)} s ago`}
                    </td>
                    <td>{vtep ?? <span className="warn">missing</span>}</td>
                    <td>
                      <Usage used={alloc.cpu} total={cap.cpu} fmt={cores} label="CPU" />
                    </td>
                    <td>
                      <Usage
                        used={alloc.memoryMiB}
                        total={cap.memoryMiB}
                        fmt={(v) => (v === undefined ? "–" : `${v} MiB`)}
                        label="Memory"
                      />
                    </td>
                    <td>
                      <Usage
                        used={alloc.instances}
                        total={cap.instances}
                        fmt={(v) => (v === undefined ? "–" : String(v))}
                        label="Instances"
                      />
                    </td>
                    <td>{h.status?.dataplane?.driftRepairsTotal ?? "–"}</td>
                    <td>
                      {problems.length ? (
                        <ul className="kv">
                          {problems.map((p, i) => (
                            <li key={i} className="warn">
                              {p.network}: {p.reason} – {p.message}
                            </li>
                          ))}
                        </ul>
                      ) : (
                        "none"
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h2>Dataplane: actual / desired</h2>
          <p className="muted">
            Counts the agent read back from the kernel against what it derived from the API; a mismatch is drift the agent repairs on its
            next sync.
          </p>
          <table className="table" aria-label="Dataplane entries">
            <thead>
              <tr>
                <th scope="col">Host</th>
                {types.map((t) => (
                  <th scope="col" key={t}>
                    {t}
                  </th>
                ))}
                <th scope="col">Last sync</th>
              </tr>
            </thead>
            <tbody>
              {hosts.map((h) => {
                const dp = h.status?.dataplane;
                return (
                  <tr key={h.metadata.name}>
                    <th scope="row">{h.metadata.name}</th>
                    {types.map((t) => {
                      const e = dp?.entries?.[t];
                      if (!e)
                        return (
                          <td key={t} className="muted">
                            –
                          </td>
                        );
                      const drift = e.actual !== e.desired;
                      return (
                        <td key={t} className={drift ? "drift" : undefined} title={drift ? "actual differs from desired" : "in sync"}>
                          {e.actual} / {e.desired}
                          {drift ? " ⚠" : ""}
                        </td>
                      );
                    })}
                    <td>
                      {dp?.lastSyncTime
                        ? `${Math.round(secondsSince(dp.lastSyncTime, now) ?? 0)} s ago` +
                          (dp.syncDurationMs !== undefined ? ` (${dp.syncDurationMs} ms)` : "")
                        : "never"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

function Usage({ used, total, fmt, label }: { used?: number; total?: number; fmt: (v: number | undefined) => string; label: string }) {
  const pct = used !== undefined && total ? Math.min(100, Math.round((used / total) * 100)) : undefined;
  return (
    <div className="usage">
      <span>
        {fmt(used ?? 0)} / {fmt(total)}
      </span>
      {pct !== undefined && (
        <meter min={0} max={100} low={70} high={90} optimum={0} value={pct} aria-label={`${label} allocated ${pct}%`} />
      )}
    </div>
  );
}
