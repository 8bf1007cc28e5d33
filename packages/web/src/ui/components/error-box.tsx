/** Shows an API (or connection) error as the API worded it, with an optional retry. */
import { ApiError } from "@kumo/api";

/** The text shown for an error: `403 Forbidden: user "bob" cannot list ...` (the API's message, verbatim). */
export function errorText(e: unknown): string {
  // The server often starts its message with the reason ("Unauthorized: invalid bearer token"): say it once.
  if (e instanceof ApiError) return e.message.startsWith(e.reason) ? `${e.code} ${e.message}` : `${e.code} ${e.reason}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

/** An alert box; renders nothing without an error. */
export function ErrorBox({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (error === undefined || error === null) return null;
  return (
    <div className="error" role="alert">
      {title && <strong>{title}: </strong>}
      <span className="error-text">{errorText(error)}</span>
      {onRetry && (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry
        </button>
      )}
    </div>
  );
}

/** "Loading…" for a request that has not answered yet (it always ends: requests time out). */
export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}
