/** React hooks shared by the views: the hash route, a ticking clock, polled requests and live lists. */
import { useCallback, useEffect, useRef, useState } from "react";
import type { KObject } from "@kumo/api";
import type { ResourceType } from "@kumo/client";
import { parseRoute, type Route } from "../lib/routes.js";
import { runListWatch } from "../lib/list-watch.js";
import { emptyList, type ListState } from "../lib/watch-reducer.js";
import { useSession } from "./session.js";

/** The current hash route; re-renders on navigation. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

/** `Date.now()`, refreshed every `ms` (ages and heartbeat clocks tick without refetching). */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

/** Result of a polled request: the last data is kept while a later poll fails. */
export interface Polled<T> {
  data?: T;
  error?: unknown;
  loading: boolean;
  reload(): void;
}

/**
 * Runs `fn` now and every `pollMs` (0: once) while mounted and `deps` are unchanged. Every outcome
 * ends the loading state, so a failure shows as an error, never as an endless spinner.
 */
export function usePoll<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[], pollMs = 0): Polled<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    const ac = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState((s) => ({ ...s, loading: true }));
    const run = async () => {
      try {
        const data = await fnRef.current(ac.signal);
        if (!ac.signal.aborted) setState({ data, loading: false });
      } catch (error) {
        if (!ac.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      }
      if (pollMs > 0 && !ac.signal.aborted) timer = setTimeout(poll, pollMs);
    };
    // run() turns fn's failures into state; anything else it throws is shown the same way.
    const poll = () => {
      run().catch((error: unknown) => setState((s) => ({ data: s.data, error, loading: false })));
    };
    poll();
    return () => {
      ac.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, pollMs]); // eslint-disable-line react-hooks/exhaustive-deps
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** A live list: state from the pure reducer, plus the loop's current error. */
export interface LiveList<T extends KObject> {
  state: ListState<T>;
  synced: boolean;
  error?: unknown;
}

/**
 * Lists and watches `rt` while mounted (undefined: nothing). Each live list holds one long HTTP
 * request, and browsers allow ~6 per origin over HTTP/1.1, so views keep to one or two of these and
 * poll the rest.
 */
export function useLiveList<T extends KObject = KObject>(
  rt: ResourceType | undefined,
  o: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {},
): LiveList<T> {
  const { client } = useSession();
  const [live, setLive] = useState<LiveList<T>>({ state: emptyList<T>(), synced: false });
  const id = rt ? `${rt.group}/${rt.version}/${rt.plural}` : "";
  useEffect(() => {
    setLive({ state: emptyList<T>(), synced: false });
    if (!rt) return;
    const ac = new AbortController();
    const error = (error: unknown) => setLive((l) => ({ ...l, error }));
    // The loop reports its failures through `error` and never rejects; should it, that is shown the same way.
    runListWatch<T>(client, rt, o, { state: (state) => setLive((l) => ({ ...l, state, synced: true })), error }, ac.signal).catch(error);
    return () => ac.abort();
  }, [client, id, o.namespace, o.labelSelector, o.fieldSelector]); // eslint-disable-line react-hooks/exhaustive-deps
  return live;
}
