/** @kumo/server: the API server, its store and its controllers. */
export { runServer, writeKubeconfig, type RunningServer, type ServerOptions } from "./server.js";
export type { Backend, KeyValue, WatchEvent as StoreWatchEvent } from "./storage/backend.js";
export { openBackend } from "./storage/registry.js";
export type { UserInfo } from "./auth/iam-cache.js";
