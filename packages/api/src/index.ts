/** @kumo/api: isomorphic resource types, schemas, kinds and errors. No node: imports here. */
export * from "./meta.js";
export * from "./errors.js";
export * from "./kind.js";
export * from "./kinds/index.js";
export * from "./validation.js";
export * from "./names.js";
export * from "./ipv4.js";
export * from "./json.js";
