/** A labelled form control whose API errors sit right under it and are announced with it. */
import type { ReactNode } from "react";

/** Props of Field: `id` ties the label, the control and the error text together. */
export interface FieldProps {
  id: string;
  label: string;
  hint?: string;
  errors?: string[];
  children: (a11y: { id: string; "aria-invalid": boolean; "aria-describedby"?: string }) => ReactNode;
}

/** Renders label, control (via render prop) and its errors. */
export function Field({ id, label, hint, errors, children }: FieldProps) {
  const describedBy = [hint ? `${id}-hint` : "", errors?.length ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={errors?.length ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, "aria-invalid": !!errors?.length, "aria-describedby": describedBy })}
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
      {!!errors?.length && (
        <div id={`${id}-error`} className="field-error" data-field-error={id}>
          {errors.join("; ")}
        </div>
      )}
    </div>
  );
}
