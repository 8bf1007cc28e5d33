/**
 * The closed set of API errors, rendered as Kubernetes `Status` objects by one server handler and rebuilt
 * into `ApiError` by the client, so every caller (CLI, agent, dashboard) sees the same reason and fields.
 */

/** Machine-readable reasons (metav1.StatusReason). */
export type StatusReason =
  | "NotFound"
  | "AlreadyExists"
  | "Conflict"
  | "Invalid"
  | "Gone"
  | "Expired"
  | "Forbidden"
  | "Unauthorized"
  | "BadRequest"
  | "MethodNotAllowed"
  | "UnsupportedMediaType"
  | "RequestEntityTooLarge"
  | "NotAcceptable"
  | "TooManyRequests"
  | "InternalError"
  | "ServiceUnavailable"
  | "Timeout";

/** One offending field (metav1.StatusCause). */
export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

/** The Kubernetes Status object. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[]; retryAfterSeconds?: number };
  code: number;
}

/** Identifies the object an error is about: `hosts.infra.kumo.dev "h1"`. */
export interface ErrorTarget {
  group?: string;
  kind?: string;
  /** plural resource name, e.g. "hosts" */
  resource?: string;
  name?: string;
}

/** An API error: HTTP code + Status reason + optional field causes. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details: Status["details"] = undefined,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** The Status document sent on the wire. */
  toStatus(): Status {
    const s: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) s.details = this.details;
    return s;
  }

  /** Rebuilds an ApiError from a Status body (client side). */
  static fromStatus(s: Partial<Status>, httpCode: number): ApiError {
    return new ApiError(s.code ?? httpCode, s.reason ?? reasonForCode(httpCode), s.message ?? `HTTP ${httpCode}`, s.details);
  }
}

function qualified(t: ErrorTarget): string {
  const r = t.resource ?? (t.kind ? t.kind.toLowerCase() : "object");
  return t.group ? `${r}.${t.group}` : r;
}

function reasonForCode(code: number): StatusReason {
  const m: Record<number, StatusReason> = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Gone",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    503: "ServiceUnavailable",
    504: "Timeout",
  };
  return m[code] ?? "InternalError";
}

/** 404: `hosts.infra.kumo.dev "h1" not found`. */
export function notFound(t: ErrorTarget): ApiError {
  return new ApiError(404, "NotFound", `${qualified(t)} "${t.name ?? ""}" not found`, {
    name: t.name,
    group: t.group,
    kind: t.resource ?? t.kind,
  });
}

/** 409 AlreadyExists. */
export function alreadyExists(t: ErrorTarget): ApiError {
  return new ApiError(409, "AlreadyExists", `${qualified(t)} "${t.name ?? ""}" already exists`, {
    name: t.name,
    group: t.group,
    kind: t.resource ?? t.kind,
  });
}

/** 409 Conflict: `Operation cannot be fulfilled on hosts.infra.kumo.dev "h1": <why>`. */
export function conflict(t: ErrorTarget, why: string, causes?: StatusCause[]): ApiError {
  return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${qualified(t)} "${t.name ?? ""}": ${why}`, {
    name: t.name,
    group: t.group,
    kind: t.resource ?? t.kind,
    causes,
  });
}

/**
 * Why a 409 Conflict was raised, carried as `details.causes[].reason` so clients act on it without
 * reading the message (kubectl and client-go only look at the Status reason and print the message):
 * - StaleResourceVersion: the write was based on an older version; re-read and try again.
 * - FieldManagerConflict: the write would change or remove fields another field manager owns; keep
 *   them, or repeat with force (as Kubernetes server-side apply names it).
 * - UIDPrecondition: the object named is not the one the write was meant for (deleted and re-created).
 * - TooManyConflicts: the server gave up retrying a write on an object others kept changing.
 */
export type ConflictCause = "StaleResourceVersion" | "FieldManagerConflict" | "UIDPrecondition" | "TooManyConflicts";

const CONFLICT_CAUSES: ReadonlySet<string> = new Set<ConflictCause>([
  "StaleResourceVersion",
  "FieldManagerConflict",
  "UIDPrecondition",
  "TooManyConflicts",
]);

/** Kubernetes' optimistic-lock message, which clients and tests recognise. */
export const STALE_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again";

/** 409 Conflict with one typed cause (pointing at `field`, when there is one). */
export function typedConflict(t: ErrorTarget, cause: ConflictCause, why: string, field?: string): ApiError {
  return conflict(t, why, [{ reason: cause, message: why, ...(field ? { field } : {}) }]);
}

/** 409 for a write based on an older resourceVersion than the stored one. */
export function staleConflict(t: ErrorTarget, why = STALE_MESSAGE): ApiError {
  return typedConflict(t, "StaleResourceVersion", why, "metadata.resourceVersion");
}

/** The typed cause of a 409 Conflict (undefined for other errors, or a server that sent none). */
export function conflictCause(e: unknown): ConflictCause | undefined {
  if (!(e instanceof ApiError) || e.code !== 409 || e.reason !== "Conflict") return undefined;
  return e.details?.causes?.find((c) => c.reason !== undefined && CONFLICT_CAUSES.has(c.reason))?.reason as ConflictCause | undefined;
}

/** 422 Invalid with one cause per offending field; kubectl prints `The Host "h1" is invalid: spec.cpu: ...`. */
export function invalid(t: ErrorTarget, causes: StatusCause[]): ApiError {
  const msg =
    `${t.kind ?? "object"} "${t.name ?? ""}" is invalid: ` +
    causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(", ");
  return new ApiError(422, "Invalid", msg, { name: t.name, group: t.group, kind: t.kind, causes });
}

/** 400 BadRequest. */
export function badRequest(message: string, causes?: StatusCause[]): ApiError {
  return new ApiError(400, "BadRequest", message, causes ? { causes } : undefined);
}

/** 410 Expired: the requested resourceVersion has been compacted. */
export function gone(message: string): ApiError {
  return new ApiError(410, "Expired", message);
}

/** 403 Forbidden: `user "u" cannot list resource "hosts" in API group "infra.kumo.dev" in the namespace "a"`. */
export function forbidden(message: string): ApiError {
  return new ApiError(403, "Forbidden", message);
}

/** 401 Unauthorized. */
export function unauthorized(message = "Unauthorized"): ApiError {
  return new ApiError(401, "Unauthorized", message);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(message: string): ApiError {
  return new ApiError(405, "MethodNotAllowed", message);
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(message: string): ApiError {
  return new ApiError(415, "UnsupportedMediaType", message);
}

/** 413 RequestEntityTooLarge. */
export function tooLarge(message: string): ApiError {
  return new ApiError(413, "RequestEntityTooLarge", message);
}

/** 503 ServiceUnavailable: a component the request needs (e.g. a host's agent) does not answer. */
export function serviceUnavailable(message: string): ApiError {
  return new ApiError(503, "ServiceUnavailable", message);
}

/** 500 InternalError (the message never includes a stack). */
export function internalError(message: string): ApiError {
  return new ApiError(500, "InternalError", message);
}

/** True for errors that mean "re-read and retry" (stale resourceVersion). */
export function isConflict(e: unknown): boolean {
  return e instanceof ApiError && e.code === 409 && e.reason === "Conflict";
}

/** True for 404. */
export function isNotFound(e: unknown): boolean {
  return e instanceof ApiError && e.code === 404;
}
