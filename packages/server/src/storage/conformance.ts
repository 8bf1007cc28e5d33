/**
 * The backend conformance suite: every rule of the storage contract (backend.ts) as node:test tests.
 *
 * Each backend's test file calls `runBackendConformance` with a factory for fresh, empty backends.
 * The suite only uses the Backend interface and never assumes an absolute starting revision, so a
 * future etcd:// backend (whose revision starts wherever the cluster is) can pass it unchanged.
 */
import { describe } from "node:test";
import { kvConformance } from "./conformance-kv.js";
import type { BackendFactory } from "./conformance-util.js";
import { watchConformance } from "./conformance-watch.js";

/** Re-exported so backend test files need only this module. */
export type { BackendFactory, BackendFixture } from "./conformance-util.js";

/** What to test: a display name and a factory returning a fresh backend and its cleanup (which closes it). */
export interface ConformanceTarget {
  name: string;
  newBackend: BackendFactory;
}

/** Register the whole conformance suite for one backend as a node:test `describe` block. */
export function runBackendConformance(target: ConformanceTarget): void {
  describe(`storage conformance: ${target.name}`, () => {
    kvConformance(target.newBackend);
    watchConformance(target.newBackend);
  });
}
