/** The detail page's Events and write-history sections (each its own request, error and retry). */
import type { KObject } from "@kumo/api";
import type { KumoClient } from "@kumo/client";
import { age } from "../../lib/format.js";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { usePoll } from "../hooks.js";

type EventObj = KObject & {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: string | null;
  source?: { component?: string };
};

/** Events about one object, newest first, polled. */
export function EventsTable({
  client,
  kinds,
  model,
  namespace,
  name,
  now,
}: {
  client: KumoClient;
  kinds: KindModel[];
  model: KindModel;
  namespace?: string;
  name: string;
  now: number;
}) {
  const ev = findKind(kinds, { group: "", plural: "events" });
  const events = usePoll(
    async (signal) => {
      if (!ev) return [];
      const l = await client.list<EventObj>(ev, namespace, {
        fieldSelector: `involvedObject.kind=${model.kind},involvedObject.name=${name}`,
        signal,
      });
      return l.items.sort((a, b) =>
        (b.lastTimestamp ?? b.metadata.creationTimestamp ?? "").localeCompare(a.lastTimestamp ?? a.metadata.creationTimestamp ?? ""),
      );
    },
    [client, ev?.key, model.kind, namespace, name],
    5000,
  );
  return (
    <section aria-labelledby="events-h">
      <h2 id="events-h">Events</h2>
      <ErrorBox error={events.error} onRetry={events.reload} />
      {events.loading && !events.data && <Loading what="events" />}
      {events.data && !events.data.length && <p className="muted">No events.</p>}
      {!!events.data?.length && (
        <table className="table" aria-label="Events">
          <thead>
            <tr>
              <th scope="col">Type</th>
              <th scope="col">Reason</th>
              <th scope="col">Age</th>
              <th scope="col">From</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {events.data.map((e) => (
              <tr key={e.metadata.uid ?? e.metadata.name} className={e.type === "Warning" ? "row-warning" : undefined}>
                <td>{e.type}</td>
                <td>{e.reason}</td>
                <td>
                  {age(e.lastTimestamp ?? e.metadata.creationTimestamp, now)}
                  {(e.count ?? 1) > 1 ? ` (×${e.count})` : ""}
                </td>
                <td>{e.source?.component}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** Who changed which field, when, as which manager; reloaded whenever the object's version changes. */
export function HistoryTable({
  client,
  model,
  namespace,
  name,
  version,
}: {
  client: KumoClient;
  model: KindModel;
  namespace?: string;
  name: string;
  version?: string;
}) {
  const hist = usePoll((signal) => client.history(model, namespace, name, { signal }), [client, model.key, namespace, name, version]);
  const items = [...(hist.data?.items ?? [])].reverse();
  return (
    <section aria-labelledby="history-h">
      <h2 id="history-h">Write history</h2>
      <ErrorBox error={hist.error} onRetry={hist.reload} />
      {hist.loading && !hist.data && <Loading what="history" />}
      {hist.data && !items.length && <p className="muted">No recorded writes.</p>}
      {!!items.length && (
        <table className="table history" aria-label="Write history">
          <thead>
            <tr>
              <th scope="col">Rev</th>
              <th scope="col">Time</th>
              <th scope="col">Manager</th>
              <th scope="col">User</th>
              <th scope="col">Operation</th>
              <th scope="col">Changed fields</th>
            </tr>
          </thead>
          <tbody>
            {items.map((w) => (
              <tr key={w.revision}>
                <td>{w.revision}</td>
                <td title={w.time}>{new Date(w.time).toLocaleTimeString()}</td>
                <td>{w.manager}</td>
                <td>{w.user}</td>
                <td>
                  {w.operation}
                  {w.force ? " (force)" : ""}
                </td>
                <td>
                  <ul className="changes">
                    {w.changes.slice(0, 12).map((c, i) => (
                      <li key={i}>
                        <code>
                          {c.op === "remove" ? "−" : "+"} {c.path}
                        </code>
                        {c.op === "set" && c.value !== undefined && typeof c.value !== "object" ? ` = ${String(c.value)}` : ""}
                      </li>
                    ))}
                    {w.changes.length > 12 && <li className="muted">… {w.changes.length - 12} more</li>}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
