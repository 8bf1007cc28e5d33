/** Create an Instance (container or VM): image, size, networks of the project, optional command. */
import { useState, type FormEvent } from "react";
import type { Image, KObject } from "@kumo/api";
import { findKind, type KindModel } from "../../lib/kinds.js";
import { Field } from "../components/field.js";
import { ProjectSelect } from "../components/project-select.js";
import { usePoll } from "../hooks.js";
import { useSession } from "../session.js";
import { FormResult } from "./form-result.js";
import { useForm } from "./use-form.js";

const FIELDS = {
  metadata: "in-name",
  "metadata.namespace": "in-project",
  "spec.kind": "in-kind",
  "spec.image": "in-image",
  "spec.cpu": "in-cpu",
  "spec.memoryMiB": "in-mem",
  "spec.networks": "in-networks",
  "spec.command": "in-command",
};

/** Splits a command line on spaces, keeping "double quoted" words together. */
export function splitCommand(s: string): string[] {
  return [...s.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]);
}

/** The form. */
export function InstanceForm({ kind }: { kind: KindModel }) {
  const { client, kinds } = useSession();
  const imgKind = findKind(kinds, { group: kind.group, plural: "images" });
  const netKind = findKind(kinds, { group: "network.kumo.dev", plural: "networks" });
  const f = useForm();
  const [v, setV] = useState({
    project: "default",
    name: "",
    kind: "container",
    image: "",
    cpu: "",
    mem: "",
    networks: [] as string[],
    command: "",
  });
  // The image kind is found by discovery (a plain ResourceType), so the object type is named here.
  const listImages = async (signal: AbortSignal) => (imgKind ? (await client.listAll<Image>(imgKind, undefined, { signal })).items : []);
  const images = usePoll(listImages, [client, imgKind?.key], 10_000);
  const nets = usePoll(
    async (signal) =>
      netKind ? (await client.listAll<KObject>(netKind, v.project, { signal })).items.map((n) => n.metadata.name ?? "") : [],
    [client, netKind?.key, v.project],
    4000,
  );
  const set = (k: "name" | "kind" | "image" | "cpu" | "mem" | "command") => (e: { target: { value: string } }) =>
    setV({ ...v, [k]: e.target.value });
  const toggleNet = (n: string) =>
    setV({ ...v, networks: v.networks.includes(n) ? v.networks.filter((x) => x !== n) : [...v.networks, n] });
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const spec: Record<string, unknown> = { kind: v.kind, image: v.image.trim(), networks: v.networks.map((network) => ({ network })) };
    if (v.cpu.trim()) spec.cpu = Number(v.cpu);
    if (v.mem.trim()) spec.memoryMiB = Number(v.mem);
    if (v.command.trim()) spec.command = splitCommand(v.command);
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
  const imageNames = (images.data ?? []).map((i) => ({ name: i.metadata.name ?? "", phase: i.status?.phase ?? "Pending" }));
  return (
    <form className="card form" onSubmit={onSubmit} aria-labelledby="in-form-h" noValidate>
      <h2 id="in-form-h">Create instance</h2>
      <ProjectSelect
        id="in-project"
        label="Project"
        value={v.project}
        onChange={(project) => setV({ ...v, project, networks: [] })}
        errors={err["in-project"]}
      />
      <Field id="in-name" label="Name" errors={err["in-name"]}>
        {(a) => <input {...a} value={v.name} onChange={set("name")} required autoComplete="off" />}
      </Field>
      <Field id="in-kind" label="Kind" errors={err["in-kind"]}>
        {(a) => (
          <select {...a} value={v.kind} onChange={set("kind")}>
            <option value="container">container</option>
            <option value="vm">vm</option>
          </select>
        )}
      </Field>
      <Field
        id="in-image"
        label="Image"
        hint={imageNames.length ? "from the image catalog" : "no images registered yet; type a name"}
        errors={err["in-image"]}
      >
        {(a) => (
          <>
            <input {...a} list="in-image-list" value={v.image} onChange={set("image")} required autoComplete="off" />
            <datalist id="in-image-list">
              {imageNames.map((i) => (
                <option key={i.name} value={i.name}>{`${i.name} (${i.phase})`}</option>
              ))}
            </datalist>
          </>
        )}
      </Field>
      <div className="row">
        <Field id="in-cpu" label="CPU (millicores)" hint="optional" errors={err["in-cpu"]}>
          {(a) => <input {...a} inputMode="numeric" value={v.cpu} onChange={set("cpu")} />}
        </Field>
        <Field id="in-mem" label="Memory (MiB)" hint="optional" errors={err["in-mem"]}>
          {(a) => <input {...a} inputMode="numeric" value={v.mem} onChange={set("mem")} />}
        </Field>
      </div>
      <fieldset
        className={err["in-networks"] ? "field field-invalid" : "field"}
        aria-describedby={err["in-networks"] ? "in-networks-error" : undefined}
      >
        <legend>Networks</legend>
        {nets.data && !nets.data.length && <p className="muted">No networks in {v.project}.</p>}
        {(nets.data ?? []).map((n) => (
          <label key={n} className="checkbox">
            <input type="checkbox" checked={v.networks.includes(n)} onChange={() => toggleNet(n)} /> {n}
          </label>
        ))}
        {err["in-networks"] && (
          <div id="in-networks-error" className="field-error" data-field-error="in-networks">
            {err["in-networks"].join("; ")}
          </div>
        )}
      </fieldset>
      {v.kind === "container" && (
        <Field id="in-command" label="Command (optional)" hint='e.g. sleep 3600; "quote" words with spaces' errors={err["in-command"]}>
          {(a) => <input {...a} value={v.command} onChange={set("command")} autoComplete="off" />}
        </Field>
      )}
      <button type="submit" disabled={f.busy}>
        {f.busy ? "Creating…" : "Create instance"}
      </button>
      <FormResult errors={f.errors} created={f.created} kind={kind} />
    </form>
  );
}
