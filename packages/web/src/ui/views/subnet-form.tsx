/** Create a Subnet on a network of the chosen project: CIDR, optional gateway, DHCP on/off. */
import { useState, type FormEvent } from "react";
import type { KObject } from "@kumo/api";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { Field } from "../components/field.js";
import { ProjectSelect } from "../components/project-select.js";
import { usePoll } from "../hooks.js";
import { useSession } from "../session.js";
import { FormResult } from "./form-result.js";
import { useForm } from "./use-form.js";

const FIELDS = {
  metadata: "sn-name",
  "metadata.namespace": "sn-project",
  "spec.network": "sn-network",
  "spec.cidr": "sn-cidr",
  "spec.gateway": "sn-gateway",
  "spec.enableDhcp": "sn-dhcp",
  "spec.allocationPools": "sn-cidr",
};

/** The form; the network list is re-read every few seconds so a network created above shows up. */
export function SubnetForm({ kind }: { kind: KindModel }) {
  const { client, kinds } = useSession();
  const netKind = findKind(kinds, { group: kind.group, plural: "networks" });
  const f = useForm();
  const [v, setV] = useState({ project: "default", name: "", network: "", cidr: "", gateway: "", dhcp: true });
  const nets = usePoll(
    async (signal) =>
      netKind ? (await client.listAll<KObject>(netKind, v.project, { signal })).items.map((n) => n.metadata.name ?? "") : [],
    [client, netKind?.key, v.project],
    4000,
  );
  const set = (k: "name" | "network" | "cidr" | "gateway") => (e: { target: { value: string } }) => setV({ ...v, [k]: e.target.value });
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const spec: Record<string, unknown> = { network: v.network, cidr: v.cidr.trim(), enableDhcp: v.dhcp };
    if (v.gateway.trim()) spec.gateway = v.gateway.trim();
    const name = v.name.trim() || (v.network ? `${v.network}-subnet` : "");
    await f.submit(
      () =>
        client.create(kind, {
          apiVersion: `${kind.group}/${kind.version}`,
          kind: kind.kind,
          metadata: { name, namespace: v.project },
          spec,
        }),
      FIELDS,
    );
  };
  const err = f.errors.fields;
  return (
    <form className="card form" onSubmit={onSubmit} aria-labelledby="sn-form-h" noValidate>
      <h2 id="sn-form-h">Create subnet</h2>
      <ProjectSelect
        id="sn-project"
        label="Project"
        value={v.project}
        onChange={(project) => setV({ ...v, project, network: "" })}
        errors={err["sn-project"]}
      />
      <Field id="sn-network" label="Network" errors={[...(err["sn-network"] ?? []), ...(nets.error ? ["cannot list networks"] : [])]}>
        {(a) => (
          <select {...a} value={v.network} onChange={set("network")}>
            <option value="">Choose a network…</option>
            {(nets.data ?? []).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field id="sn-name" label="Name (optional)" hint="default: <network>-subnet" errors={err["sn-name"]}>
        {(a) => <input {...a} value={v.name} onChange={set("name")} autoComplete="off" />}
      </Field>
      <Field id="sn-cidr" label="CIDR" hint="e.g. 10.10.0.0/24" errors={err["sn-cidr"]}>
        {(a) => <input {...a} value={v.cidr} onChange={set("cidr")} required autoComplete="off" />}
      </Field>
      <Field id="sn-gateway" label="Gateway (optional)" hint="default: first address" errors={err["sn-gateway"]}>
        {(a) => <input {...a} value={v.gateway} onChange={set("gateway")} autoComplete="off" />}
      </Field>
      <div className="field checkbox">
        <input id="sn-dhcp" type="checkbox" checked={v.dhcp} onChange={(e) => setV({ ...v, dhcp: e.target.checked })} />
        <label htmlFor="sn-dhcp">Enable DHCP</label>
      </div>
      <button type="submit" disabled={f.busy}>
        {f.busy ? "Creating…" : "Create subnet"}
      </button>
      <FormResult errors={f.errors} created={f.created} kind={kind} />
    </form>
  );
}
