/** Events from the agent about the objects it acts on (posted through the API like any client). */
import { EventKind, type KObject } from "@kumo/api";
import type { KumoClient } from "@kumo/client";

/** Records core/v1 Events; never throws (an event must not fail the action it describes). */
export class AgentEvents {
  recorded = 0;
  failed = 0;

  constructor(
    private readonly client: KumoClient,
    private readonly host: string,
  ) {}

  /** Records one event about `obj`. */
  async record(obj: KObject, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const ns = obj.metadata.namespace ?? "default";
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    try {
      await this.client.create(
        EventKind,
        {
          apiVersion: "v1",
          kind: "Event",
          metadata: {
            name: `${obj.metadata.name}.${Date.now().toString(16)}${Math.floor(Math.random() * 4096).toString(16)}`,
            namespace: ns,
          },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: obj.metadata.namespace,
            uid: obj.metadata.uid,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: "kumo-agent", host: this.host },
          reportingComponent: "kumo-agent",
          reportingInstance: this.host,
        } as KObject,
        { fieldManager: "kumo-agent" },
      );
      this.recorded++;
    } catch {
      this.failed++;
    }
  }
}
