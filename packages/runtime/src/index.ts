/** @kumo/runtime: the one reconcile runtime and component manager, shared by the server and the agent (Node only). */
export * from "./component/component.js";
export * from "./component/manager.js";
export * from "./keyed-lock.js";
export * from "./reconcile/controller.js";
export * from "./reconcile/metrics.js";
export * from "./reconcile/sources.js";
export * from "./reconcile/types.js";
