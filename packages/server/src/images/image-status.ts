/** The Image status an upload produces: pure, so the rule "Ready when every part of the format is there" has one home. */
import { IMAGE_PARTS, type ImageBlob, type ImageSpec, type ImageStatus, setCondition } from "@kumo/api";

/** The parts an image of this format needs, or undefined for an unknown format. */
export function partsOf(spec: ImageSpec | undefined): readonly string[] | undefined {
  return spec && Object.prototype.hasOwnProperty.call(IMAGE_PARTS, spec.format) ? IMAGE_PARTS[spec.format] : undefined;
}

/** `status` with `part` set to `blob`, phase and the Ready condition recomputed. */
export function withBlob(
  spec: ImageSpec,
  status: ImageStatus | undefined,
  part: string,
  blob: ImageBlob,
  now = new Date().toISOString(),
): ImageStatus {
  const blobs = { ...(status?.blobs ?? {}), [part]: { sha256: blob.sha256, size: blob.size } };
  const missing = (partsOf(spec) ?? []).filter((p) => !blobs[p]);
  const ready = missing.length === 0;
  const conditions = setCondition(
    status?.conditions,
    ready
      ? {
          type: "Ready",
          status: "True",
          reason: "AllPartsUploaded",
          message: `${Object.keys(blobs).sort().join(", ")} uploaded and verified`,
        }
      : { type: "Ready", status: "False", reason: "PartsMissing", message: `waiting for: ${missing.join(", ")}` },
    now,
  );
  return { ...(status ?? {}), phase: ready ? "Ready" : "Pending", blobs, conditions };
}

/** Digests an image references. */
export function digestsOf(status: ImageStatus | undefined): Set<string> {
  return new Set(Object.values(status?.blobs ?? {}).map((b) => b.sha256));
}
