/** A status word with a color that matches its health (text stays, so color is never the only cue). */
import { healthOf } from "../../lib/health.js";

/** A badge for a status word such as Running or NotReady. */
export function Badge({ status }: { status: string | undefined }) {
  const kind =
    status === undefined ? "none" : (healthOf({ apiVersion: "v1", kind: "X", metadata: {}, status: { phase: status } }) ?? "none");
  return <span className={`badge badge-${kind}`}>{status ?? "–"}</span>;
}
