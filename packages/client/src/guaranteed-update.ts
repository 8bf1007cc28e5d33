/**
 * guaranteedUpdate: THE read–mutate–conditional-write loop (the apiserver's GuaranteedUpdate, on the
 * client side). Every controller and agent changes existing objects through it, so no caller
 * hand-rolls compare-and-swap and no caller can write without a resourceVersion precondition.
 */
import type { KObject } from "@kumo/api";
import type { KumoClient } from "./client.js";
import { isRetryableConflict } from "./errors.js";
import { sleep } from "./sleep.js";
import type { ResourceType, WriteOptions } from "./types.js";

/** Returns the desired object (a modified copy of `current`), or undefined when nothing must change. */
export type Mutate<T> = (current: T) => T | undefined | Promise<T | undefined>;

/** Options of guaranteedUpdate. */
export interface GuaranteedUpdateOptions<T> extends WriteOptions {
  /** Write through the /status subresource (status owners: agents, controllers). */
  subresource?: "status";
  /** Start from this copy (e.g. an informer's cache) instead of a GET; a stale copy costs one retry. */
  current?: T;
  /** Give up after this many conflicting writes (default 100). */
  maxAttempts?: number;
}

/**
 * Reads the object, calls `mutate` on a private copy and writes the result with the read
 * resourceVersion as precondition. On a 409 Conflict it re-reads; if the object moved on (our read
 * was stale) it retries with the fresh copy, otherwise the conflict is about something else (e.g.
 * removing map keys another manager owns) and retrying would not help, so the error is thrown. A
 * conflict whose typed cause already says so (ownership, uid) is thrown without the re-read.
 * Returns the written object, or the current one when `mutate` had nothing to change.
 */
export async function guaranteedUpdate<T extends KObject>(
  client: KumoClient,
  rt: ResourceType,
  namespace: string | undefined,
  name: string,
  mutate: Mutate<T>,
  o: GuaranteedUpdateOptions<T> = {},
): Promise<T> {
  const maxAttempts = o.maxAttempts ?? 100;
  let cur = o.current ?? (await client.get<T>(rt, namespace, name, { signal: o.signal }));
  for (let attempt = 1; ; attempt++) {
    const next = await mutate(structuredClone(cur));
    if (next === undefined || JSON.stringify(next) === JSON.stringify(cur)) return cur;
    // The precondition is the version mutate saw, whatever mutate did to metadata.
    next.metadata = {
      ...next.metadata,
      name: cur.metadata.name,
      namespace: cur.metadata.namespace,
      resourceVersion: cur.metadata.resourceVersion,
    };
    try {
      const write = o.subresource === "status" ? client.updateStatus.bind(client) : client.update.bind(client);
      return await write<T>(rt, next, o);
    } catch (e) {
      if (!isRetryableConflict(e) || attempt >= maxAttempts) throw e;
      const fresh = await client.get<T>(rt, namespace, name, { signal: o.signal });
      if (fresh.metadata.resourceVersion === cur.metadata.resourceVersion) throw e;
      cur = fresh;
      // Many writers on one object: spread retries so they stop colliding in lockstep.
      if (attempt > 2) await sleep(Math.random() * Math.min(50, 2 ** attempt), o.signal);
    }
  }
}
