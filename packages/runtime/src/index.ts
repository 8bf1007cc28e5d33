/** @kumo/runtime: node-side code shared by server, agent and CLI: reconcile runtime, component manager, HTTPS fetch. */
export * from "./component/component.js";
export * from "./component/listener.js";
export * from "./component/manager.js";
export * from "./keyed-lock.js";
export * from "./reconcile/controller.js";
export * from "./reconcile/metrics.js";
export * from "./reconcile/sources.js";
export * from "./reconcile/types.js";
export * from "./retry.js";
export * from "./transport.js";
