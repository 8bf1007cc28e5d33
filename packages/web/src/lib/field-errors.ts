/**
 * Puts a 422's `details.causes` next to the form fields they name. Causes whose field no input owns
 * (or errors without causes) become form-level messages, so nothing the API said is lost.
 */
import { ApiError } from "@kumo/api";

/** Errors for a form: per input id, plus messages that belong to no input. */
export interface FormErrors {
  fields: Record<string, string[]>;
  form: string[];
}

/** No errors. */
export const NO_ERRORS: FormErrors = { fields: {}, form: [] };

/**
 * Maps an error to form errors. `fieldMap` maps API field paths to input ids; a cause matches the
 * longest mapped prefix (`spec.networks[0].network` → the input mapped to `spec.networks`).
 */
export function formErrors(e: unknown, fieldMap: Record<string, string>): FormErrors {
  if (!(e instanceof ApiError)) return { fields: {}, form: [e instanceof Error ? e.message : String(e)] };
  const causes = e.details?.causes ?? [];
  const out: FormErrors = { fields: {}, form: [] };
  for (const c of causes) {
    const input = c.field ? matchField(c.field, fieldMap) : undefined;
    if (input) (out.fields[input] ??= []).push(c.message);
    else out.form.push(c.field ? `${c.field}: ${c.message}` : c.message);
  }
  // Without field causes, the summary message is the only explanation; with them it repeats them.
  if (!causes.length || (out.form.length === 0 && Object.keys(out.fields).length === 0)) out.form.push(e.message);
  return out;
}

function matchField(field: string, fieldMap: Record<string, string>): string | undefined {
  const normalized = field.replace(/^\./, "");
  let best: string | undefined;
  for (const path of Object.keys(fieldMap)) {
    const hit = normalized === path || normalized.startsWith(`${path}.`) || normalized.startsWith(`${path}[`);
    if (hit && (!best || path.length > best.length)) best = path;
  }
  return best === undefined ? undefined : fieldMap[best];
}
