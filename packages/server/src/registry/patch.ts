/** JSON merge patch (RFC 7386) and JSON patch (RFC 6902), applied to a copy of the live object. */
import jsonpatch from "fast-json-patch";
import { applyMergePatch, badRequest, invalid, type ErrorTarget } from "@kumo/api";

/** RFC 7386 merge patch (the shared implementation in @kumo/api). */
export const mergePatch = applyMergePatch;

/** RFC 6902 with `test` support; errors become 422 naming the failing operation. */
export function jsonPatch(target: Record<string, unknown>, ops: unknown, t: ErrorTarget): Record<string, unknown> {
  if (!Array.isArray(ops)) throw badRequest("json patch must be a JSON array of operations");
  const doc = structuredClone(target);
  try {
    const err = jsonpatch.validate(ops as jsonpatch.Operation[], doc);
    if (err) throw err;
    return jsonpatch.applyPatch(doc, ops as jsonpatch.Operation[], false, true).newDocument;
  } catch (e) {
    const pe = e as { name?: string; message?: string; index?: number; operation?: { path?: string } };
    if (pe.name === "TEST_OPERATION_FAILED")
      throw invalid(t, [{ field: pe.operation?.path, message: "test operation failed", reason: "FieldValueInvalid" }]);
    throw invalid(t, [
      {
        field: pe.operation?.path,
        message: `json patch operation ${pe.index ?? ""} failed: ${String(pe.message ?? e).split("\n")[0]}`,
        reason: "FieldValueInvalid",
      },
    ]);
  }
}
