/** The outcome line under a form: form-level API errors, or a link to what was created. */
import type { KObject } from "@kumo/api";
import type { FormErrors } from "../../lib/field-errors.js";
import type { KindModel } from "../../lib/kinds.js";
import { href } from "../../lib/routes.js";

/** Props of FormResult. */
export interface FormResultProps {
  errors: FormErrors;
  created?: KObject;
  kind: KindModel;
}

/** Errors (role=alert) or success (role=status). */
export function FormResult({ errors, created, kind }: FormResultProps) {
  const fieldCount = Object.values(errors.fields).flat().length;
  return (
    <>
      {(errors.form.length > 0 || fieldCount > 0) && (
        <div className="error" role="alert">
          {errors.form.map((m, i) => (
            <div key={i}>{m}</div>
          ))}
          {fieldCount > 0 && (
            <div>
              The API rejected {fieldCount === 1 ? "a field" : `${fieldCount} fields`}; see the messages next to{" "}
              {fieldCount === 1 ? "it" : "them"}.
            </div>
          )}
        </div>
      )}
      {created && (
        <p className="success" role="status">
          Created {kind.kind.toLowerCase()}{" "}
          <a href={href({ view: "detail", kind: kind.key, namespace: created.metadata.namespace, name: created.metadata.name ?? "" })}>
            {created.metadata.name}
          </a>
          .
        </p>
      )}
    </>
  );
}
