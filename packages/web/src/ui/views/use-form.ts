/** Submit state of a create form: busy flag, API errors mapped to fields, and the created object. */
import { useState } from "react";
import type { KObject } from "@kumo/api";
import { formErrors, NO_ERRORS, type FormErrors } from "../../lib/field-errors.js";

/** What a form component needs. */
export interface FormState {
  busy: boolean;
  errors: FormErrors;
  created?: KObject;
  /** Runs `create`; API errors land next to the fields named in `fieldMap` (API path → input id). */
  submit(create: () => Promise<KObject>, fieldMap: Record<string, string>): Promise<void>;
}

/** Hook behind every create form. */
export function useForm(): FormState {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const [created, setCreated] = useState<KObject>();
  const submit = async (create: () => Promise<KObject>, fieldMap: Record<string, string>) => {
    setBusy(true);
    setErrors(NO_ERRORS);
    setCreated(undefined);
    try {
      setCreated(await create());
    } catch (e) {
      setErrors(formErrors(e, fieldMap));
    } finally {
      setBusy(false);
    }
  };
  return { busy, errors, created, submit };
}
