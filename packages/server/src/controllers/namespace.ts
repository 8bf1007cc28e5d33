/**
 * Namespace (project) lifecycle. Admission gives every new namespace the finalizer that empties it before it
 * goes, and refuses deleting the system projects. The loop empties a deleted namespace: it deletes what is
 * inside, and once nothing is left it removes the finalizer. Objects with finalizers of their own take a
 * while: the loop looks again after a delay, never gives up, and /debug/state shows what each terminating
 * namespace still waits for.
 */
import { type KindRegistry, type KObject, NamespaceKind, forbidden, isNotFound } from "@kumo/api";
import { Controller, type ReconcileResult } from "@kumo/runtime";
import type { Logger } from "pino";
import type { AdmissionHook } from "../apiserver/admission.js";
import { LocalInformer } from "../informers/local-informer.js";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";

/** Finalizer the namespace controller removes once a deleted namespace is empty. */
export const NAMESPACE_FINALIZER = "kumo.dev/namespace-contents";
/** Projects that always exist. */
export const SYSTEM_NAMESPACES = ["default", "kumo-system"];

const CTX = { user: "system:namespace-controller", manager: "kumo-namespace-controller" };
/** Looks again this soon while objects are still going (most go within a pass or two)... */
const RECHECK_MS = 500;
/** ...and this often once a namespace has waited for RECHECK_SLOW_AFTER passes (something holds a finalizer). */
const RECHECK_SLOW_MS = 5_000;
const RECHECK_SLOW_AFTER = 20;

/** What a terminating namespace waits for (/debug/state). */
interface Waiting {
  since: string;
  passes: number;
  /** Objects still inside, by resource. */
  remaining: Record<string, number>;
  /** Objects already deleted that wait for their own finalizers (the first few). */
  heldBy: string[];
}

/** The admission rules of namespaces (registered in server.ts). */
export function namespaceAdmission(): AdmissionHook {
  return {
    name: "namespaces",
    kinds: [NamespaceKind],
    async mutate({ obj }) {
      obj.metadata.finalizers = [...new Set([...(obj.metadata.finalizers ?? []), NAMESPACE_FINALIZER])];
    },
    async validateDelete(_kind, _namespace, name) {
      if (SYSTEM_NAMESPACES.includes(name)) throw forbidden(`namespace "${name}" is a system project and cannot be deleted`);
    },
  };
}

const terminating = (ns: KObject) => !!ns.metadata.deletionTimestamp && (ns.metadata.finalizers ?? []).includes(NAMESPACE_FINALIZER);

/** Empties terminating namespaces. */
export class NamespaceController {
  readonly loop: Controller;
  private readonly waiting = new Map<string, Waiting>();
  finalizedTotal = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly kinds: KindRegistry,
    cache: WatchCache,
    private readonly log: Logger,
  ) {
    const informer = new LocalInformer("namespaces", store, cache, [NamespaceKind], ({ obj }, enqueue) => {
      if (terminating(obj)) enqueue(obj.metadata.name!);
    });
    this.loop = new Controller({
      name: "namespace",
      log,
      workers: 4,
      sources: [informer],
      reconciler: (_ctx, name) => this.reconcile(name),
      debug: () => this.debug(),
    });
  }

  /** One pass over one namespace: delete what is inside; when nothing is left, remove the finalizer. */
  async reconcile(name: string): Promise<ReconcileResult> {
    let ns: KObject;
    try {
      ns = await this.store.get(NamespaceKind, undefined, name);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      this.waiting.delete(name);
      return;
    }
    if (!terminating(ns)) {
      this.waiting.delete(name);
      return;
    }
    const remaining: Record<string, number> = {};
    const heldBy: string[] = [];
    for (const k of this.kinds.all().filter((x) => x.namespaced)) {
      const items = (await this.store.list(k, name)).items;
      if (!items.length) continue;
      remaining[k.plural] = items.length;
      for (const o of items) {
        if (o.metadata.deletionTimestamp) {
          if (heldBy.length < 10) heldBy.push(`${k.kind} ${o.metadata.name} (finalizers: ${(o.metadata.finalizers ?? []).join(", ")})`);
          continue;
        }
        await this.store.delete(k, name, o.metadata.name!, CTX).catch((e) => {
          if (!isNotFound(e)) throw e;
        });
      }
    }
    if (Object.keys(remaining).length === 0) {
      await this.store
        .guaranteedUpdate(NamespaceKind, undefined, name, CTX, (cur) => {
          cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
          return cur;
        })
        .catch((e) => {
          if (!isNotFound(e)) throw e;
        });
      this.waiting.delete(name);
      this.finalizedTotal++;
      this.log.info({ namespace: name }, "namespace emptied and removed");
      return;
    }
    const w = this.waiting.get(name);
    const passes = (w?.passes ?? 0) + 1;
    this.waiting.set(name, { since: w?.since ?? new Date().toISOString(), passes, remaining, heldBy });
    return { requeueAfterMs: passes < RECHECK_SLOW_AFTER ? RECHECK_MS : RECHECK_SLOW_MS };
  }

  private debug() {
    return { finalizedTotal: this.finalizedTotal, terminating: Object.fromEntries(this.waiting) };
  }
}
