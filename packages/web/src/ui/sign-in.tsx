/** The sign-in form: a bearer token, checked against the API before it is kept. */
import { useState, type FormEvent } from "react";
import { errorText } from "./components/error-box.js";

/** Props of SignIn: `onSubmit` rejects with the API's error for a bad token. */
export interface SignInProps {
  onSubmit: (token: string) => Promise<void>;
  /** An error from an earlier attempt (e.g. a stored token that expired). */
  initialError?: unknown;
}

/** A centered card with one password field. */
export function SignIn({ onSubmit, initialError }: SignInProps) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(initialError);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSubmit(token.trim());
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to kumo</h1>
        <p className="muted">
          Paste an API token (the admin token is in the kubeconfig written by <code>kumo up</code>). It is kept in this tab only.
        </p>
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={error !== undefined}
          aria-describedby={error !== undefined ? "signin-error" : undefined}
        />
        {error !== undefined && (
          <p id="signin-error" className="error" role="alert">
            {errorText(error)}
          </p>
        )}
        <button type="submit" disabled={busy || !token.trim()}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
