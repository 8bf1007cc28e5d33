/** What the HTTP layer needs from the rest of the server (wired in server.ts). */
import type { KindRegistry } from "@kumo/api";
import type { Logger } from "pino";
import type { IamCache } from "../auth/iam-cache.js";
import type { ServerMetrics } from "../observability/metrics.js";
import type { AuditLog } from "../observability/audit.js";
import type { HistoryRecorder } from "../registry/history.js";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";
import type { Admission } from "./admission.js";

/** Dependencies of the API handlers. */
export interface ApiDeps {
  kinds: KindRegistry;
  store: ObjectStore;
  cache: WatchCache;
  history: HistoryRecorder;
  iam: IamCache;
  admission: Admission;
  metrics: ServerMetrics;
  audit?: AuditLog;
  log: Logger;
  /** The /debug/state document: every component's state (server.ts builds it from the component manager). */
  debugState: () => Promise<Record<string, unknown>>;
  /** Directory of the built dashboard (served at /ui/), if any. */
  webRoot?: string;
  /** Bearer token the server shows agents when it proxies `instances/NAME/log` (agents check it). */
  agentProxyToken?: string;
}
