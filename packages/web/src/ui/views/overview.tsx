/**
 * Overview: the service catalog (whatever this server serves, discovered), counts and health per
 * kind, and the most recent Warning events. Polled rather than watched: one watch per kind would use
 * up the browser's per-origin connections.
 */
import type { KObject } from "@kumo/api";
import { age } from "../../lib/format.js";
import { summarize } from "../../lib/health.js";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { href } from "../../lib/routes.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { useNow, usePoll } from "../hooks.js";
import { useSession } from "../session.js";

/** The services of the catalog and the kinds that make them up (group, plural). */
const CATALOG: { service: string; kinds: [string, string][] }[] = [
  {
    service: "Compute",
    kinds: [
      ["compute.kumo.dev", "instances"],
      ["compute.kumo.dev", "flavors"],
    ],
  },
  { service: "Images", kinds: [["compute.kumo.dev", "images"]] },
  {
    service: "Networking",
    kinds: [
      ["network.kumo.dev", "networks"],
      ["network.kumo.dev", "subnets"],
      ["network.kumo.dev", "ports"],
    ],
  },
  { service: "Load balancers", kinds: [["network.kumo.dev", "loadbalancers"]] },
  { service: "DNS", kinds: [["network.kumo.dev", "dnsrecords"]] },
  { service: "Workloads", kinds: [["apps.kumo.dev", "workloads"]] },
  { service: "Hosts", kinds: [["infra.kumo.dev", "hosts"]] },
  { service: "Projects", kinds: [["", "namespaces"]] },
];

type EventObj = KObject & {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: string | null;
  involvedObject?: { kind?: string; name?: string; namespace?: string };
};

/** The Overview view. */
export function Overview() {
  const { client, kinds } = useSession();
  const now = useNow(5000);
  const served = CATALOG.map((c) => ({
    ...c,
    models: c.kinds.map(([group, plural]) => findKind(kinds, { group, plural })).filter((k): k is KindModel => !!k),
  }));
  const counts = usePoll(
    async (signal) => {
      const models = served.flatMap((s) => s.models);
      const lists = await Promise.all(
        models.map((m) =>
          client.listAll(m, undefined, { signal }).then(
            (l) => [m.key, l.items] as const,
            (e: unknown) => [m.key, e] as const,
          ),
        ),
      );
      return new Map<string, KObject[] | unknown>(lists);
    },
    [client, kinds],
    5000,
  );
  const eventKind = findKind(kinds, { group: "", plural: "events" });
  const warnings = usePoll(
    async (signal) => {
      if (!eventKind) return [];
      const l = await client.list<EventObj>(eventKind, undefined, { fieldSelector: "type=Warning", signal });
      return l.items.sort((a, b) => when(b).localeCompare(when(a))).slice(0, 10);
    },
    [client, eventKind?.key],
    5000,
  );

  return (
    <>
      <h1 tabIndex={-1}>Overview</h1>
      <section aria-labelledby="catalog-h">
        <h2 id="catalog-h">Services</h2>
        {counts.loading && !counts.data && <Loading what="the catalog" />}
        <ErrorBox error={counts.error} onRetry={counts.reload} />
        <div className="cards">
          {served.map((s) => (
            <article key={s.service} className="card service" aria-label={s.service}>
              <h3>{s.service}</h3>
              {!s.models.length && <p className="muted">Not served by this server.</p>}
              {s.models.map((m) => (
                <KindSummary key={m.key} model={m} result={counts.data?.get(m.key)} />
              ))}
            </article>
          ))}
        </div>
      </section>
      <section aria-labelledby="warn-h">
        <h2 id="warn-h">Recent warnings</h2>
        <ErrorBox error={warnings.error} onRetry={warnings.reload} />
        {warnings.loading && !warnings.data && <Loading what="events" />}
        {warnings.data && !warnings.data.length && <p className="muted">No Warning events.</p>}
        {!!warnings.data?.length && (
          <table className="table" aria-label="Recent warning events">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Object</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {warnings.data.map((e) => (
                <tr key={e.metadata.uid ?? e.metadata.name}>
                  <td>{age(when(e), now)}</td>
                  <td>
                    {e.involvedObject?.kind}/{e.involvedObject?.name}
                  </td>
                  <td>{e.reason}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function when(e: EventObj): string {
  return e.lastTimestamp ?? e.metadata.creationTimestamp ?? "";
}

function KindSummary({ model, result }: { model: KindModel; result: KObject[] | unknown }) {
  const link = href({ view: "resources", kind: model.key });
  if (result === undefined) return <p className="muted">{model.kind}: …</p>;
  if (!Array.isArray(result)) return <ErrorBox error={result} title={model.plural} />;
  const h = summarize(result as KObject[]);
  return (
    <p className="kind-summary" data-kind={model.key}>
      <a href={link}>
        <strong className="count">{result.length}</strong> {model.plural}
      </a>
      {h.rated > 0 && (
        <span className="health">
          {h.ok > 0 && <span className="badge badge-ok">{h.ok} ok</span>}
          {h.progressing > 0 && <span className="badge badge-progressing">{h.progressing} pending</span>}
          {h.bad > 0 && <span className="badge badge-bad">{h.bad} failing</span>}
        </span>
      )}
    </p>
  );
}
