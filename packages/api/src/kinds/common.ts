/** Schema pieces shared by several kinds. */
import { Type, type TSchema } from "@sinclair/typebox";

/** A string → string map (labels-like). */
export const StringMap = Type.Record(Type.String(), Type.String());

/** metav1.Condition. */
export const ConditionSchema = Type.Object(
  {
    type: Type.String({ minLength: 1 }),
    status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")]),
    reason: Type.Optional(Type.String()),
    message: Type.Optional(Type.String()),
    lastTransitionTime: Type.Optional(Type.String()),
    observedGeneration: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

/** A list of conditions. */
export const Conditions = Type.Array(ConditionSchema);

/** A strict object: unknown fields are errors, as Kubernetes' fieldValidation=Strict. */
export function Strict<T extends Record<string, TSchema>>(props: T, opts: { description?: string } = {}) {
  return Type.Object(props, { additionalProperties: false, ...opts });
}

/** Renders an ISO timestamp or a date cell; the server turns `date` cells into ages. */
export function ts(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}
