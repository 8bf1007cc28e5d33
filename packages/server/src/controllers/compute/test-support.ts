/**
 * Helpers for the compute tests: object builders, fake hosts that heartbeat through the API (so the real
 * host-lifecycle controller marks them Ready), Ready images through the real blob upload, and polling.
 */
import { createHash } from "node:crypto";
import type { TestServer } from "../../testing.js";

/** API paths. */
export const P = {
  hosts: "/apis/infra.kumo.dev/v1/hosts",
  images: "/apis/compute.kumo.dev/v1/images",
  flavors: "/apis/compute.kumo.dev/v1/flavors",
  instances: (ns = "default") => `/apis/compute.kumo.dev/v1/namespaces/${ns}/instances`,
  net: (ns = "default") => `/apis/network.kumo.dev/v1/namespaces/${ns}`,
  events: (ns = "default") => `/api/v1/namespaces/${ns}/events`,
};

/** sha256 hex of bytes. */
export const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Polls `pred` every 50 ms until it returns a truthy value or `ms` pass. */
export async function until<T>(what: string, pred: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await pred();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A Host with capacity in spec (the agent's allocatable is absent, so the scheduler falls back to it). */
export function hostObject(
  name: string,
  capacity: { cpu?: number; memoryMiB?: number; instances?: number },
  labels: Record<string, string> = {},
  unschedulable = false,
) {
  return {
    apiVersion: "infra.kumo.dev/v1",
    kind: "Host",
    metadata: { name, labels },
    spec: { capacity, ...(unschedulable ? { unschedulable } : {}) },
  };
}

/** An Instance. */
export function instanceObject(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: { name },
    spec: { kind: "container", image: "busybox", ...spec },
  };
}

/**
 * Creates hosts and heartbeats for them (as the agent would) until the returned stop() is called, then
 * waits until the host-lifecycle controller reports each Ready.
 */
export async function fakeHosts(
  s: TestServer,
  hosts: ReturnType<typeof hostObject>[],
  beatMs = 300,
): Promise<{ stop(): void; silence(name: string): void }> {
  for (const h of hosts) {
    const r = await s.call("POST", P.hosts, { body: h });
    if (r.status !== 201) throw new Error(`host ${h.metadata.name}: ${r.status} ${r.text}`);
  }
  const silent = new Set<string>();
  const beat = () =>
    Promise.all(
      hosts
        .filter((h) => !silent.has(h.metadata.name))
        .map((h) =>
          s.call("PATCH", `${P.hosts}/${h.metadata.name}/status?fieldManager=kumo-agent`, {
            body: { status: { lastHeartbeatTime: new Date().toISOString() } },
            contentType: "application/merge-patch+json",
          }),
        ),
    );
  await beat();
  const timer = setInterval(() => void beat().catch(() => undefined), beatMs);
  for (const h of hosts)
    await until(`host ${h.metadata.name} Ready`, async () =>
      (await s.call("GET", `${P.hosts}/${h.metadata.name}`)).body.status?.conditions?.some(
        (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
      ),
    );
  return { stop: () => clearInterval(timer), silence: (name) => silent.add(name) };
}

/** Creates a rootfs-tar image and uploads its one part, so it is Ready. */
export async function readyImage(s: TestServer, name = "busybox", content = `rootfs of ${name}`): Promise<void> {
  const r = await s.call("POST", P.images, {
    body: { apiVersion: "compute.kumo.dev/v1", kind: "Image", metadata: { name }, spec: { format: "rootfs-tar" } },
  });
  if (r.status !== 201) throw new Error(`image ${name}: ${r.status} ${r.text}`);
  const up = await s.call("PUT", `${P.images}/${name}/blobs/rootfs?sha256=${sha256(content)}`, {
    body: content,
    contentType: "application/octet-stream",
  });
  if (up.status !== 200) throw new Error(`upload ${name}: ${up.status} ${up.text}`);
}

/** The instance object (undefined when gone). */
export async function getInstance(s: TestServer, name: string, ns = "default") {
  const r = await s.call("GET", `${P.instances(ns)}/${name}`);
  return r.status === 200 ? r.body : undefined;
}

/** A condition of an object. */
export function cond(obj: { status?: { conditions?: { type: string }[] } } | undefined, type: string): any {
  return obj?.status?.conditions?.find((c) => c.type === type);
}

/** Events about one object. */
export async function eventsFor(s: TestServer, name: string, ns = "default"): Promise<{ reason: string; type: string; message: string }[]> {
  return (await s.call("GET", `${P.events(ns)}?fieldSelector=involvedObject.name%3D${encodeURIComponent(name)}`)).body.items;
}

/** A host's status.allocated. */
export async function allocatedOf(
  s: TestServer,
  host: string,
): Promise<{ cpu?: number; memoryMiB?: number; instances?: number } | undefined> {
  return (await s.call("GET", `${P.hosts}/${host}`)).body.status?.allocated;
}

/**
 * Plays the agent's part of deletion: once the instance is Terminating, sets condition Started=False with
 * reason Deleted (the signal the instance controller waits for), with a resourceVersion-checked PUT.
 */
export async function agentConfirmsDeletion(s: TestServer, name: string, ns = "default"): Promise<void> {
  const inst = await until(`${name} Terminating`, async () => {
    const i = await getInstance(s, name, ns);
    return i?.status?.phase === "Terminating" && i;
  });
  const conditions = [
    ...(inst.status.conditions ?? []).filter((c: { type: string }) => c.type !== "Started"),
    { type: "Started", status: "False", reason: "Deleted", message: "container removed", lastTransitionTime: new Date().toISOString() },
  ];
  const r = await s.call("PUT", `${P.instances(ns)}/${name}/status?fieldManager=kumo-agent`, {
    body: { ...inst, status: { ...inst.status, conditions } },
  });
  if (r.status !== 200) throw new Error(`agent status write: ${r.status} ${r.text}`);
}
