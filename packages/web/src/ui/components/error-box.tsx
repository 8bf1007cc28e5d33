/** Shows an API (or connection) error as the API worded it, with an optional retry. */
import { ApiError } from "@kumo/api";

/** The text shown for an error: `403 Forbidden: user "bob" cannot list ...`. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.code} ${e.reason}: ${e.message}`;
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
