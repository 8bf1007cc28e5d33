/** Delete a network, subnet or instance: pick it, then confirm in a dialog. */
import { useState } from "react";
import type { KObject } from "@kumo/api";
import type { KindModel } from "../../lib/kinds.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { ErrorBox } from "../components/error-box.js";
import { ProjectSelect } from "../components/project-select.js";
import { usePoll } from "../hooks.js";
import { useSession } from "../session.js";

/** The panel; `kinds` are the deletable kinds on offer. */
export function DeletePanel({ kinds }: { kinds: KindModel[] }) {
  const { client } = useSession();
  const [kindKey, setKindKey] = useState(kinds[0]?.key ?? "");
  const [project, setProject] = useState("default");
  const [name, setName] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [done, setDone] = useState<string>();
  const kind = kinds.find((k) => k.key === kindKey);
  const objs = usePoll(
    async (signal) => (kind ? (await client.listAll<KObject>(kind, project, { signal })).items.map((o) => o.metadata.name ?? "") : []),
    [client, kindKey, project],
    4000,
  );
  return (
    <section className="card form" aria-labelledby="del-h">
      <h2 id="del-h">Delete</h2>
      <div className="field">
        <label htmlFor="del-kind">Kind</label>
        <select
          id="del-kind"
          value={kindKey}
          onChange={(e) => {
            setKindKey(e.target.value);
            setName("");
          }}
        >
          {kinds.map((k) => (
            <option key={k.key} value={k.key}>
              {k.kind}
            </option>
          ))}
        </select>
      </div>
      <ProjectSelect
        id="del-project"
        label="Project"
        value={project}
        onChange={(p) => {
          setProject(p);
          setName("");
        }}
      />
      <div className="field">
        <label htmlFor="del-name">Object</label>
        <select id="del-name" value={name} onChange={(e) => setName(e.target.value)}>
          <option value="">Choose…</option>
          {(objs.data ?? []).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={objs.error} onRetry={objs.reload} />
      <button
        type="button"
        className="danger"
        disabled={!name || !kind}
        onClick={() => {
          setDone(undefined);
          setConfirming(true);
        }}
      >
        Delete…
      </button>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {confirming && kind && (
        <ConfirmDialog
          title={`Delete ${kind.kind.toLowerCase()} ${name}?`}
          message={`${kind.kind} ${project}/${name} will be deleted. This cannot be undone.`}
          confirmLabel="Delete"
          onConfirm={async () => {
            await client.delete(kind, project, name);
            setDone(`Deleted ${kind.kind.toLowerCase()} ${project}/${name}.`);
            setName("");
            objs.reload();
          }}
          onClose={() => setConfirming(false)}
        />
      )}
    </section>
  );
}
