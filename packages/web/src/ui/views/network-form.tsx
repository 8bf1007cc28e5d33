/** Create a Network: project, name, optional VNI and MTU (the server allocates a VNI when empty). */
import { useState, type FormEvent } from "react";
import type { KindModel } from "../../lib/kinds.js";
import { Field } from "../components/field.js";
import { ProjectSelect } from "../components/project-select.js";
import { useSession } from "../session.js";
import { FormResult } from "./form-result.js";
import { useForm } from "./use-form.js";

const FIELDS = {
  "metadata.name": "net-name",
  metadata: "net-name",
  "metadata.namespace": "net-project",
  "spec.vni": "net-vni",
  "spec.mtu": "net-mtu",
  "spec.description": "net-name",
};

/** The form. */
export function NetworkForm({ kind }: { kind: KindModel }) {
  const { client } = useSession();
  const f = useForm();
  const [v, setV] = useState({ project: "default", name: "", vni: "", mtu: "" });
  const set = (k: keyof typeof v) => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const spec: Record<string, number> = {};
    // Numbers are sent as typed: a non-number reaches the API, which names the field in its 422.
    if (v.vni.trim()) spec.vni = Number(v.vni);
    if (v.mtu.trim()) spec.mtu = Number(v.mtu);
    await f.submit(
      () =>
        client.create(kind, {
          apiVersion: `${kind.group}/${kind.version}`,
          kind: kind.kind,
          metadata: { name: v.name.trim(), namespace: v.project },
          spec,
        }),
      FIELDS,
    );
  };
  const err = f.errors.fields;
  return (
    <form className="card form" onSubmit={onSubmit} aria-labelledby="net-form-h" noValidate>
      <h2 id="net-form-h">Create network</h2>
      <ProjectSelect
        id="net-project"
        label="Project"
        value={v.project}
        onChange={(project) => setV({ ...v, project })}
        errors={err["net-project"]}
      />
      <Field id="net-name" label="Name" errors={err["net-name"]}>
        {(a) => <input {...a} value={v.name} onChange={set("name")} required autoComplete="off" />}
      </Field>
      <Field id="net-vni" label="VNI (optional)" hint="1–16777215; allocated when empty" errors={err["net-vni"]}>
        {(a) => <input {...a} inputMode="numeric" value={v.vni} onChange={set("vni")} />}
      </Field>
      <Field id="net-mtu" label="MTU (optional)" hint="default 1450" errors={err["net-mtu"]}>
        {(a) => <input {...a} inputMode="numeric" value={v.mtu} onChange={set("mtu")} />}
      </Field>
      <button type="submit" disabled={f.busy}>
        {f.busy ? "Creating…" : "Create network"}
      </button>
      <FormResult errors={f.errors} created={f.created} kind={kind} />
    </form>
  );
}
