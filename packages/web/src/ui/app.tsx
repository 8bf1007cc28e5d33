/**
 * The app shell: sign-in gate, navigation and the routed view. Discovery doubles as the token check:
 * it is the first authenticated request, and its kinds drive every view.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "@kumo/api";
import { discoverKinds } from "../lib/kinds.js";
import type { Route } from "../lib/routes.js";
import { ErrorBox, Loading } from "./components/error-box.js";
import { useRoute } from "./hooks.js";
import { makeClient, SessionContext, storedToken, storeToken, type Session } from "./session.js";
import { SignIn } from "./sign-in.js";
import { Nav } from "./nav.js";
import { ViewFor } from "./views/index.js";

type Phase =
  | { s: "signed-out"; error?: unknown }
  | { s: "checking" }
  | { s: "ready"; session: Session }
  | { s: "failed"; error: unknown; token: string };

/** Root component. */
export function App() {
  const [phase, setPhase] = useState<Phase>(() => (storedToken() ? { s: "checking" } : { s: "signed-out" }));
  const route = useRoute();

  const signIn = useCallback(async (token: string) => {
    const client = makeClient(token);
    const kinds = await discoverKinds(client);
    storeToken(token);
    setPhase({ s: "ready", session: { client, kinds } });
  }, []);

  const resume = useCallback(
    (token: string) => {
      setPhase({ s: "checking" });
      signIn(token).catch((error: unknown) => {
        // A token the API rejects goes back to the sign-in form; any other failure can be retried.
        if (error instanceof ApiError && error.code === 401) {
          storeToken(undefined);
          setPhase({ s: "signed-out", error });
        } else setPhase({ s: "failed", error, token });
      });
    },
    [signIn],
  );

  useEffect(() => {
    const t = storedToken();
    if (t) resume(t);
  }, [resume]);

  const signOut = () => {
    storeToken(undefined);
    setPhase({ s: "signed-out" });
  };

  if (phase.s === "signed-out") return <SignIn onSubmit={signIn} initialError={phase.error} />;
  if (phase.s === "checking")
    return (
      <main className="signin">
        <Loading what="the API" />
      </main>
    );
  if (phase.s === "failed") {
    return (
      <main className="signin">
        <div className="card">
          <h1>Cannot reach the API</h1>
          <ErrorBox error={phase.error} onRetry={() => resume(phase.token)} />
          <button type="button" onClick={signOut}>
            Sign out
          </button>
        </div>
      </main>
    );
  }
  return (
    <SessionContext.Provider value={phase.session}>
      <Shell route={route} onSignOut={signOut} />
    </SessionContext.Provider>
  );
}

function Shell({ route, onSignOut }: { route: Route; onSignOut: () => void }) {
  const mainRef = useRef<HTMLElement>(null);
  // Move focus to the new view on navigation, so keyboard and screen-reader users land on its content.
  const key = JSON.stringify(route);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    mainRef.current?.querySelector<HTMLElement>("h1")?.focus();
  }, [key]);
  return (
    <div className="shell">
      <a
        href="#main"
        className="skip"
        onClick={(e) => {
          e.preventDefault();
          mainRef.current?.querySelector<HTMLElement>("h1")?.focus();
        }}
      >
        Skip to content
      </a>
      <Nav route={route} onSignOut={onSignOut} />
      <main id="main" ref={mainRef} className="content">
        <ViewFor route={route} />
      </main>
    </div>
  );
}
