/**
 * User-facing errors: everything a command throws ends up here and is printed as ONE line on stderr
 * (`error: ...`) with exit code 1. Stack traces are only for bugs, never for user errors.
 */
import { ApiError, conflictCause } from "@kumo/api";
import { ConnectionError } from "@kumo/client";

/** An error whose message is already meant for the user. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "UserError";
  }
}

const CONNECT_REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "host not found",
  ETIMEDOUT: "connection timed out",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  DEPTH_ZERO_SELF_SIGNED_CERT: "TLS: certificate signed by an unknown authority",
  SELF_SIGNED_CERT_IN_CHAIN: "TLS: certificate signed by an unknown authority",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "TLS: certificate signed by an unknown authority",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "TLS: certificate signed by an unknown authority",
  ERR_TLS_CERT_ALTNAME_INVALID: "TLS: certificate is not valid for this host",
  CERT_HAS_EXPIRED: "TLS: certificate has expired",
  EPROTO: "TLS handshake failed",
};

/** "connection refused", "TLS: ...": why a request got no answer. */
export function connectionReason(cause: unknown): string {
  const code = (cause as { code?: string } | undefined)?.code;
  if (code && CONNECT_REASONS[code]) return CONNECT_REASONS[code];
  return code ?? (cause instanceof Error ? cause.message : String(cause));
}

/** The one-line message (without the "error: " prefix) for any error a command can throw. */
export function formatError(e: unknown): string {
  if (e instanceof UserError) return e.message;
  if (e instanceof ConnectionError) {
    let origin = e.url;
    try {
      origin = new URL(e.url).origin;
    } catch {
      // keep the raw URL
    }
    const reason = connectionReason(e.cause);
    const hint = reason === "connection refused" ? 'is the server running? try "make up"' : "check the server address and the kubeconfig";
    return `cannot reach the kumo API at ${origin} (${reason}): ${hint}`;
  }
  if (e instanceof ApiError) return formatApiError(e);
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Server Status messages verbatim; 422 lists every field cause; 401 says which credential was refused. */
export function formatApiError(e: ApiError): string {
  let msg = e.message.replace(/\s*\n\s*/g, " ");
  const causes = e.details?.causes ?? [];
  if (e.code === 422 && causes.length) {
    const missing = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).filter((c) => !msg.includes(c));
    if (missing.length) msg = `${msg.replace(/[:.]\s*$/, "")}: ${missing.join(", ")}`;
  }
  if (e.code === 401) msg = `${msg} (the server refused the token: check --token or the kubeconfig)`;
  return msg;
}

/**
 * A write refused because it would take or remove fields another field manager owns (the Status cause
 * says so; a stale resourceVersion or a uid mismatch is not fixed by forcing) becomes the server's message
 * plus `hint` (how to force it); undefined for any other error.
 */
export function ownershipConflict(e: unknown, hint: string): UserError | undefined {
  if (!(e instanceof ApiError) || conflictCause(e) !== "FieldManagerConflict") return undefined;
  return new UserError(`${formatApiError(e)} (${hint})`);
}

/** Ends the command with `exitCode` after its errors were already printed (one line per failed object). */
export class AlreadyReported extends UserError {
  constructor(exitCode = 1) {
    super("", exitCode);
    this.name = "AlreadyReported";
  }
}
