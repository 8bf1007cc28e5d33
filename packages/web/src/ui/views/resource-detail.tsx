/**
 * One object: summary, owners, conditions as a timeline, spec, status, its Events and the per-field
 * write history. The object itself is watched (field selector on its name), so the timeline moves live.
 */
import { useState } from "react";
import { INSTANCE_STEPS, parseApiVersion, type Condition, type KObject } from "@kumo/api";
import { age } from "../../lib/format.js";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { href, type Route } from "../../lib/routes.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { Timeline } from "../components/timeline.js";
import { useLiveList, useNow } from "../hooks.js";
import { useSession } from "../session.js";
import { EventsTable, HistoryTable } from "./detail-sections.js";

/** The detail view. */
export function ResourceDetail({ route }: { route: Extract<Route, { view: "detail" }> }) {
  const { kinds } = useSession();
  const model = findKind(kinds, { key: route.kind });
  if (!model) {
    return (
      <>
        <h1 tabIndex={-1}>{route.name}</h1>
        <p role="alert" className="error">
          This server does not serve <code>{route.kind}</code>.
        </p>
      </>
    );
  }
  return <Detail model={model} namespace={route.namespace} name={route.name} />;
}

function Detail({ model, namespace, name }: { model: KindModel; namespace?: string; name: string }) {
  const { client, kinds } = useSession();
  const now = useNow(1000);
  const live = useLiveList(model, { namespace, fieldSelector: `metadata.name=${name}` });
  const [confirming, setConfirming] = useState(false);
  const obj = live.state.items.find((o) => o.metadata.name === name);
  const title = `${model.kind} ${namespace ? `${namespace}/` : ""}${name}`;
  const conditions = (obj?.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
  const { conditions: _c, ...statusRest } = (obj?.status as Record<string, unknown> | undefined) ?? {};
  const canDelete = !model.verbs.length || model.verbs.includes("delete");
  return (
    <>
      <p className="crumbs">
        <a href={href({ view: "resources", kind: model.key, ns: namespace })}>← {model.plural}</a>
      </p>
      <h1 tabIndex={-1}>{title}</h1>
      <ErrorBox error={live.error} title="Live updates interrupted (retrying)" />
      {!live.synced && !live.error && <Loading what={name} />}
      {live.synced && !obj && (
        <p className="error" role="alert">
          {model.kind} “{name}” not found; it may have been deleted.
        </p>
      )}
      {obj && (
        <>
          <div className="detail-actions">
            {canDelete && (
              <button type="button" className="danger" onClick={() => setConfirming(true)}>
                Delete…
              </button>
            )}
          </div>
          <dl className="summary">
            <dt>Status</dt>
            <dd data-testid="phase">{statusWord(obj)}</dd>
            {namespace && (
              <>
                <dt>Project</dt>
                <dd>{namespace}</dd>
              </>
            )}
            <dt>Created</dt>
            <dd title={obj.metadata.creationTimestamp}>{age(obj.metadata.creationTimestamp, now)} ago</dd>
            <dt>Resource version</dt>
            <dd>{obj.metadata.resourceVersion}</dd>
            <dt>Labels</dt>
            <dd>{kv(obj.metadata.labels)}</dd>
            <dt>Annotations</dt>
            <dd>{kv(obj.metadata.annotations)}</dd>
            <dt>Owners</dt>
            <dd>
              <Owners obj={obj} kinds={kinds} />
            </dd>
          </dl>
          <section aria-labelledby="cond-h">
            <h2 id="cond-h">Conditions</h2>
            <Timeline conditions={conditions} stepOrder={model.kind === "Instance" ? INSTANCE_STEPS : []} now={now} />
          </section>
          <div className="two-col">
            <section aria-labelledby="spec-h">
              <h2 id="spec-h">Spec</h2>
              <pre className="json">{JSON.stringify(obj.spec ?? specLike(obj), null, 2)}</pre>
            </section>
            <section aria-labelledby="status-h">
              <h2 id="status-h">Status</h2>
              <pre className="json">{JSON.stringify(statusRest, null, 2)}</pre>
            </section>
          </div>
        </>
      )}
      <EventsTable kinds={kinds} client={client} model={model} namespace={namespace} name={name} now={now} />
      <HistoryTable client={client} model={model} namespace={namespace} name={name} version={obj?.metadata.resourceVersion} />
      {confirming && (
        <ConfirmDialog
          title={`Delete ${model.kind.toLowerCase()} ${name}?`}
          message={`${title} will be deleted. Objects it owns are garbage-collected. This cannot be undone.`}
          confirmLabel="Delete"
          onConfirm={async () => {
            await client.delete(model, namespace, name);
            window.location.hash = href({ view: "resources", kind: model.key, ns: namespace });
          }}
          onClose={() => setConfirming(false)}
        />
      )}
    </>
  );
}

function statusWord(o: KObject): string {
  const st = o.status as { phase?: string; conditions?: Condition[] } | undefined;
  if (st?.phase) return st.phase;
  const r = st?.conditions?.find((c) => c.type === "Ready");
  return r ? (r.status === "True" ? "Ready" : `NotReady${r.reason ? ` (${r.reason})` : ""}`) : "–";
}

function kv(m: Record<string, string> | undefined) {
  const e = Object.entries(m ?? {});
  if (!e.length) return "–";
  return (
    <ul className="kv">
      {e.map(([k, v]) => (
        <li key={k}>
          <code>{k}</code>={v}
        </li>
      ))}
    </ul>
  );
}

/** Kinds without spec (Event, Secret): everything but the envelope. */
function specLike(o: KObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = o;
  return rest;
}

function Owners({ obj, kinds }: { obj: KObject; kinds: KindModel[] }) {
  const refs = obj.metadata.ownerReferences ?? [];
  if (!refs.length) return <>–</>;
  return (
    <ul className="kv">
      {refs.map((r) => {
        const m = findKind(kinds, { group: parseApiVersion(r.apiVersion).group, kind: r.kind });
        const label = `${r.kind}/${r.name}${r.controller ? " (controller)" : ""}`;
        return (
          <li key={r.uid}>
            {m ? (
              <a href={href({ view: "detail", kind: m.key, namespace: m.namespaced ? obj.metadata.namespace : undefined, name: r.name })}>
                {label}
              </a>
            ) : (
              label
            )}
          </li>
        );
      })}
    </ul>
  );
}
