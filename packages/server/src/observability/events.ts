/** Records core/v1 Events about objects from inside the server (controllers, ownership overrides). */
import { EventKind, type KObject } from "@kumo/api";
import type { Logger } from "pino";
import type { ObjectStore } from "../registry/store.js";

/** Writes Events; failures are logged, never thrown: an event must not fail the action it describes. */
export class EventRecorder {
  recordedTotal = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly component: string,
    private readonly log: Logger,
  ) {}

  /** Records one event about `obj` (cluster-scoped objects' events go to the "default" namespace, as in Kubernetes). */
  async record(obj: KObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? "default";
    const now = new Date().toISOString();
    const ev: KObject = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace: ns },
      involvedObject: {
        apiVersion: obj.apiVersion,
        kind: obj.kind,
        name: obj.metadata.name,
        namespace: obj.metadata.namespace,
        uid: obj.metadata.uid,
        resourceVersion: obj.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      count: 1,
      firstTimestamp: now.replace(/\.\d+Z$/, "Z"),
      lastTimestamp: now.replace(/\.\d+Z$/, "Z"),
      source: { component: this.component },
      reportingComponent: this.component,
    };
    try {
      await this.store.create(EventKind, ns, ev, { user: `system:${this.component}`, manager: this.component });
      this.recordedTotal++;
    } catch (e) {
      this.log.warn({ err: String(e), reason, object: obj.metadata.name }, "event not recorded");
    }
  }
}
