/**
 * The signed-in session: the token (sessionStorage, so it dies with the tab), the API client and the
 * discovered kinds, handed to every view through React context.
 */
import { createContext, useContext } from "react";
import { KumoClient, type FetchFn } from "@kumo/client";
import type { KindModel } from "../lib/kinds.js";

const TOKEN_KEY = "kumo.token";

/** Requests other than watches give up after this long, so no view waits forever. */
export const REQUEST_TIMEOUT_MS = 15_000;

/** The stored token, if any. */
export function storedToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

/** Stores (or with undefined: forgets) the token. */
export function storeToken(token: string | undefined): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** window.fetch plus a timeout for every request except watches (which are meant to stay open). */
export const timedFetch: FetchFn = (input, init = {}) => {
  if (input.includes("watch=1")) return window.fetch(input, init);
  const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  return window.fetch(input, { ...init, signal });
};

/** A client for the same origin that serves the dashboard. */
export function makeClient(token: string): KumoClient {
  return new KumoClient({ server: "", token, fetch: timedFetch, fieldManager: "kumo-dashboard" });
}

/** What every view can read. */
export interface Session {
  client: KumoClient;
  kinds: KindModel[];
}

/** React context carrying the session. */
export const SessionContext = createContext<Session | null>(null);

/** The current session (views render only when signed in). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in session");
  return s;
}
