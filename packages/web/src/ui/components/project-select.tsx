/** A select of the projects (namespaces), loaded once per mount; failures show the API's message. */
import type { KObject } from "@kumo/api";
import { findKind } from "../../lib/kinds.js";
import { usePoll } from "../hooks.js";
import { useSession } from "../session.js";
import { errorText } from "./error-box.js";

/** Props of ProjectSelect. */
export interface ProjectSelectProps {
  id: string;
  label: string;
  value: string;
  onChange: (ns: string) => void;
  /** Offer "All projects" (value ""). */
  allowAll?: boolean;
  disabled?: boolean;
  errors?: string[];
}

/** The select, inline-labelled. */
export function ProjectSelect({ id, label, value, onChange, allowAll, disabled, errors }: ProjectSelectProps) {
  const { client, kinds } = useSession();
  const nsKind = findKind(kinds, { group: "", plural: "namespaces" });
  const projects = usePoll(
    async (signal) =>
      nsKind ? (await client.listAll<KObject>(nsKind, undefined, { signal })).items.map((n) => n.metadata.name ?? "") : [],
    [client, nsKind?.key],
    15_000,
  );
  const names = projects.data ?? [];
  const options = value && !names.includes(value) ? [value, ...names] : names;
  return (
    <div className={errors?.length ? "field inline field-invalid" : "field inline"}>
      <label htmlFor={id}>{label}</label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!errors?.length}
        aria-describedby={errors?.length || projects.error ? `${id}-error` : undefined}
      >
        {allowAll && <option value="">All projects</option>}
        {!allowAll && !value && <option value="">Choose a project…</option>}
        {options.map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
      {(!!errors?.length || projects.error !== undefined) && (
        <div id={`${id}-error`} className="field-error" data-field-error={id}>
          {[...(errors ?? []), ...(projects.error !== undefined ? [`cannot list projects: ${errorText(projects.error)}`] : [])].join("; ")}
        </div>
      )}
    </div>
  );
}
