/** Turning failed requests into typed errors: ApiError for answers, ConnectionError for no answer. */
import { ApiError, conflictCause, isConflict, type Status } from "@kumo/api";

/** The request never got an HTTP answer (refused, DNS, TLS, reset). `cause` is the transport's error. */
export class ConnectionError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: unknown,
  ) {
    super(`cannot reach ${url}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "ConnectionError";
  }
}

/** True when `e` is the rejection of an aborted fetch or stream read. */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && (e.name === "AbortError" || (e as { code?: string }).code === "ABORT_ERR");
}

/** True when `v` looks like a Kubernetes Status document. */
export function isStatus(v: unknown): v is Status {
  return typeof v === "object" && v !== null && (v as { kind?: unknown }).kind === "Status";
}

/**
 * Rebuilds the server's error from a non-2xx response. A Status body is used as-is; anything else
 * (a proxy's HTML page, plain text) still becomes an ApiError with the HTTP code and the text.
 */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const body: unknown = JSON.parse(text);
    if (isStatus(body)) return ApiError.fromStatus(body, res.status);
  } catch {
    // not JSON: fall through
  }
  const message = text.trim().split("\n")[0]?.slice(0, 300) || `${res.status} ${res.statusText}`.trim();
  return ApiError.fromStatus({ message }, res.status);
}

/** The ApiError carried by a watch ERROR event (object is a Status). */
export function errorFromWatchStatus(obj: unknown): ApiError {
  if (isStatus(obj)) return ApiError.fromStatus(obj, obj.code ?? 500);
  return ApiError.fromStatus({ message: "watch error event without a Status" }, 500);
}

/**
 * True for a 409 Conflict that re-reading can resolve: a stale resourceVersion, a server that gave up under
 * contention, or a Conflict without a typed cause (the caller then checks that the object moved on).
 * False for field-ownership and uid conflicts: the same write on a fresh copy would be refused again.
 */
export function isRetryableConflict(e: unknown): boolean {
  if (!isConflict(e)) return false;
  const cause = conflictCause(e);
  return cause === undefined || cause === "StaleResourceVersion" || cause === "TooManyConflicts";
}

/** True for 410 Gone/Expired: the resourceVersion is too old, the caller must relist. */
export function isGone(e: unknown): boolean {
  return e instanceof ApiError && e.code === 410;
}
