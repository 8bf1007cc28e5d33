/** Namespace lifecycle: a deleted namespace (project) is emptied, then its finalizer is removed and it goes. */
import { type KindRegistry, type KObject, NamespaceKind, isNotFound } from "@kumo/api";
import type { Logger } from "pino";
import { NAMESPACE_FINALIZER } from "../apiserver/admission.js";
import type { ObjectStore } from "../registry/store.js";
import type { WatchCache } from "../registry/watch-cache.js";

const CTX = { user: "system:namespace-controller", manager: "kumo-namespace-controller" };

/** Empties terminating namespaces. */
export class NamespaceController {
  private busy = new Set<string>();
  finalizedTotal = 0;

  constructor(private readonly store: ObjectStore, private readonly kinds: KindRegistry, private readonly cache: WatchCache, private readonly log: Logger) {}

  /** Handles namespaces already terminating, then follows changes. */
  async start(): Promise<void> {
    const list = await this.store.list(NamespaceKind, undefined);
    const backlog = this.cache.subscribe({
      prefix: "/registry/core/namespaces/",
      afterRevision: Number(list.metadata.resourceVersion),
      deliver: (evs) => evs.forEach((e) => this.consider(e.obj)),
      close: (why) => { if (why !== "shutdown") void this.start(); }, // re-list after a reset, but not after shutdown
    });
    for (const ns of list.items) this.consider(ns);
    backlog.forEach((e) => this.consider(e.obj));
  }

  private consider(ns: KObject): void {
    if (!ns.metadata.deletionTimestamp || !(ns.metadata.finalizers ?? []).includes(NAMESPACE_FINALIZER)) return;
    const name = ns.metadata.name!;
    if (this.busy.has(name)) return;
    this.busy.add(name);
    void this.finalize(name).finally(() => this.busy.delete(name));
  }

  private async finalize(name: string): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      let remaining = 0;
      for (const k of this.kinds.all().filter((x) => x.namespaced)) {
        const items = (await this.store.list(k, name)).items;
        remaining += items.length;
        for (const o of items) await this.store.delete(k, name, o.metadata.name!, CTX).catch((e) => { if (!isNotFound(e)) throw e; });
      }
      if (remaining === 0) {
        await this.store.guaranteedUpdate(NamespaceKind, undefined, name, CTX, (cur) => {
          cur.metadata.finalizers = (cur.metadata.finalizers ?? []).filter((f) => f !== NAMESPACE_FINALIZER);
          return cur;
        }).catch((e) => { if (!isNotFound(e)) throw e; });
        this.finalizedTotal++;
        this.log.info({ namespace: name }, "namespace emptied and removed");
        return;
      }
      await new Promise((r) => setTimeout(r, 500)); // objects with finalizers of their own take a while
    }
  }

  /** State for /debug/state. */
  snapshot() {
    return { terminating: [...this.busy], finalizedTotal: this.finalizedTotal };
  }
}
