/**
 * Resources: one live list per kind (list + watch through the pure reducer), filtered by project and
 * label selector. Filters live in the URL, so a filtered list can be shared.
 */
import { useEffect, useState, type FormEvent } from "react";
import { findKind } from "../../lib/kinds.js";
import { href, type Route } from "../../lib/routes.js";
import { ErrorBox, Loading } from "../components/error-box.js";
import { ObjectTable } from "../components/object-table.js";
import { ProjectSelect } from "../components/project-select.js";
import { useLiveList, useNow } from "../hooks.js";
import { useSession } from "../session.js";

/** The Resources view. */
export function Resources({ route }: { route: Extract<Route, { view: "resources" }> }) {
  const { kinds } = useSession();
  const model =
    findKind(kinds, { key: route.kind ?? "instances.compute.kumo.dev" }) ??
    findKind(kinds, { key: "networks.network.kumo.dev" }) ??
    kinds[0];
  const namespace = model?.namespaced ? route.ns : undefined;
  const live = useLiveList(model, { namespace, labelSelector: route.labels });
  const now = useNow(5000);
  const [labels, setLabels] = useState(route.labels ?? "");
  useEffect(() => setLabels(route.labels ?? ""), [route.labels]);
  const go = (r: Partial<Extract<Route, { view: "resources" }>>) => {
    window.location.hash = href({ view: "resources", kind: model?.key, ns: route.ns, labels: route.labels, ...r });
  };
  const applyLabels = (e: FormEvent) => {
    e.preventDefault();
    go({ labels: labels.trim() || undefined });
  };
  return (
    <>
      <h1 tabIndex={-1}>Resources{model ? `: ${model.kind}` : ""}</h1>
      <div className="toolbar" role="group" aria-label="List filters">
        <div className="field inline">
          <label htmlFor="kind-select">Kind</label>
          <select id="kind-select" value={model?.key ?? ""} onChange={(e) => go({ kind: e.target.value })}>
            {kinds.map((k) => (
              <option key={k.key} value={k.key}>
                {k.kind} ({k.group || "core"})
              </option>
            ))}
          </select>
        </div>
        <ProjectSelect
          id="project-filter"
          label="Project"
          value={route.ns ?? ""}
          allowAll
          disabled={!model?.namespaced}
          onChange={(ns) => go({ ns: ns || undefined })}
        />
        <form className="field inline" onSubmit={applyLabels}>
          <label htmlFor="label-filter">Labels</label>
          <input
            id="label-filter"
            placeholder="app=web,tier!=db"
            value={labels}
            onChange={(e) => setLabels(e.target.value)}
            aria-describedby="label-hint"
          />
          <small id="label-hint" className="sr-only">
            Kubernetes label selector; press Enter to apply
          </small>
          <button type="submit">Apply</button>
        </form>
      </div>
      {!model && <p>This server serves no kinds.</p>}
      <ErrorBox error={live.error} title="Live updates interrupted (retrying)" />
      {model && !live.synced && !live.error && <Loading what={model.plural} />}
      {model && live.synced && (
        <>
          <p className="muted" aria-live="polite">
            {live.state.items.length} {model.plural}
            {live.state.expired ? " · relisting…" : " · live"}
          </p>
          <ObjectTable kind={model} items={live.state.items} now={now} showNamespace={!!model.namespaced && !namespace} />
        </>
      )}
    </>
  );
}
