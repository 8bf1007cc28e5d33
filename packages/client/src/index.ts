/** @kumo/client: the isomorphic API client (fetch injected), informer cache and work queue. No node: imports here. */
export * from "./client.js";
export * from "./errors.js";
export * from "./guaranteed-update.js";
export * from "./informer.js";
export * from "./lines.js";
export * from "./paths.js";
export * from "./sleep.js";
export * from "./types.js";
export * from "./watch.js";
export * from "./work-queue.js";
