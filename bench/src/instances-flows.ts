/**
 * The measured flows of bench/instances, each interleaved with its plain baseline:
 *   containerSeries  create → Running (seen on a watch) one at a time, vs plain runc create+start;
 *   vmSeries         create → AddressAssigned (seen on a watch), vs plain QEMU boot to its lease;
 *   burst            N containers created at once across the hosts, vs N plain runc at once.
 */
import { performance } from "node:perf_hooks";
import { InstanceKind, NetworkKind, SubnetKind, type Instance, type InstanceSpec } from "@kumo/api";
import {
  collectionVersion,
  condAt,
  condTrue,
  deleteAndWait,
  instanceManifest,
  NS,
  poll,
  watchInstances,
  watchUntil,
  type Cloud,
} from "./instances-cloud.js";
import type { PlainQemu } from "./instances-qemu.js";
import type { PlainRunc } from "./instances-runc.js";

const running = (o: Instance) => o.status?.phase === "Running";

/** Creates `inst` and resolves when a watch shows pred; ms from the create call, plus condition times. */
async function createObserved(
  c: Cloud,
  inst: Instance,
  pred: (o: Instance) => boolean,
  timeoutMs: number,
): Promise<{ ms: number; obj: Instance; wall0: number }> {
  const rv = await collectionVersion(c.client);
  const seen = watchUntil(c.client, inst.metadata.name!, rv, pred, timeoutMs);
  const wall0 = Date.now();
  const t0 = performance.now();
  await c.client.create(InstanceKind, inst);
  const s = await seen;
  return { ms: s.at - t0, obj: s.obj, wall0 };
}

/** Container spec as a user would ask for it (defaults: 250 millicores, 64 MiB, the image's idle command). */
export const CONTAINER: InstanceSpec = { kind: "container", image: "busybox", cpu: 250, memoryMiB: 64 };

/** Per-sample results of the container series. */
export interface ContainerSeries {
  kumoMs: number[];
  plainMs: number[];
  /** Wall-clock ms from the create call to each condition's timestamp (server/agent clocks = this host's). */
  toScheduled: number[];
  toStarted: number[];
  toRunningCond: number[];
  /** The agent's own runc create+start (from the Started condition's step timings). */
  agentRuncMs: number[];
  warmupMs: number[];
}

/** Warm-up (image download on every host), then n interleaved pairs. */
export async function containerSeries(c: Cloud, plain: PlainRunc, n: number): Promise<ContainerSeries> {
  const r: ContainerSeries = { kumoMs: [], plainMs: [], toScheduled: [], toStarted: [], toRunningCond: [], agentRuncMs: [], warmupMs: [] };
  const warm = c.hosts.map((_, i) => instanceManifest(`warm-${i}`, { ...CONTAINER, nodeSelector: { "bench-slot": `s${i}` } }));
  r.warmupMs = (await Promise.all(warm.map((w) => createObserved(c, w, running, 120_000)))).map((x) => x.ms);
  await deleteAndWait(
    c.client,
    warm.map((w) => w.metadata.name!),
  );
  await plain.bundle("plain", instanceManifest("plain", CONTAINER));
  for (let i = 0; i < n; i++) {
    // Alternate which goes first, so drift in the machine's load hits both series alike.
    const kumoFirst = i % 2 === 1;
    if (!kumoFirst) r.plainMs.push(await plainOnce(plain));
    const name = `c-${i}`;
    const got = await createObserved(c, instanceManifest(name, CONTAINER), running, 60_000);
    r.kumoMs.push(got.ms);
    r.toScheduled.push(condAt(got.obj, "Scheduled") - got.wall0);
    r.toStarted.push(condAt(got.obj, "Started") - got.wall0);
    r.toRunningCond.push(condAt(got.obj, "Running") - got.wall0);
    const m = /create (\d+), start (\d+)/.exec(got.obj.status?.conditions?.find((x) => x.type === "Started")?.message ?? "");
    r.agentRuncMs.push(m ? Number(m[1]) + Number(m[2]) : NaN);
    await deleteAndWait(c.client, [name]);
    if (kumoFirst) r.plainMs.push(await plainOnce(plain));
  }
  return r;
}

async function plainOnce(plain: PlainRunc): Promise<number> {
  const ms = await plain.start("plain");
  await plain.remove("plain");
  return ms;
}

/** Per-sample results of the VM series. */
export interface VmSeries {
  kumoMs: number[];
  /** create call → AddressAssigned condition timestamp (what `kumo describe` shows). */
  kumoCondMs: number[];
  /** create call → Started condition (QEMU running): kumo's work before the guest boots. */
  toStarted: number[];
  plainLeaseMs: number[];
  plainMarkerMs: number[];
  warmupMs: number;
  plainWarmupMs: number;
  acceleration: string;
}

/**
 * A network for the VMs, a warm-up VM each way (kumo: image download and KVM probe; plain: page
 * cache), then n interleaved pairs on one host. `plain` must hold n + 1 leases.
 */
export async function vmSeries(c: Cloud, plain: PlainQemu, n: number): Promise<VmSeries> {
  await c.client.create(NetworkKind, {
    apiVersion: "network.kumo.dev/v1",
    kind: "Network",
    metadata: { name: "bvm", namespace: NS },
    spec: {},
  });
  await c.client.create(SubnetKind, {
    apiVersion: "network.kumo.dev/v1",
    kind: "Subnet",
    metadata: { name: "bvm-v4", namespace: NS },
    spec: { network: "bvm", cidr: "10.78.0.0/24" },
  });
  const slot = { "bench-slot": `s${c.hosts.length - 1}` };
  const spec: InstanceSpec = {
    kind: "vm",
    image: "tiny-vm",
    cpu: 1000,
    memoryMiB: 256,
    networks: [{ network: "bvm" }],
    nodeSelector: slot,
  };
  const addressed = (o: Instance) => condTrue(o, "AddressAssigned");
  const r: VmSeries = {
    kumoMs: [],
    kumoCondMs: [],
    toStarted: [],
    plainLeaseMs: [],
    plainMarkerMs: [],
    warmupMs: NaN,
    plainWarmupMs: NaN,
    acceleration: "",
  };
  const warm = await createObserved(c, instanceManifest("vm-warm", spec), addressed, 180_000);
  r.warmupMs = warm.ms;
  await deleteAndWait(c.client, ["vm-warm"]);
  r.plainWarmupMs = (await plain.boot(n, instanceManifest("vm-warm", spec))).leaseMs;
  for (let i = 0; i < n; i++) {
    const kumoFirst = i % 2 === 1;
    const name = `vm-${i}`;
    if (!kumoFirst) await plainBoot(plain, i, instanceManifest(name, spec), r);
    const got = await createObserved(c, instanceManifest(name, spec), addressed, 120_000);
    r.kumoMs.push(got.ms);
    r.kumoCondMs.push(condAt(got.obj, "AddressAssigned") - got.wall0);
    r.toStarted.push(condAt(got.obj, "Started") - got.wall0);
    r.acceleration = got.obj.status?.acceleration ?? "?";
    await deleteAndWait(c.client, [name]);
    if (kumoFirst) await plainBoot(plain, i, instanceManifest(name, spec), r);
  }
  return r;
}

async function plainBoot(plain: PlainQemu, i: number, inst: Instance, r: VmSeries): Promise<void> {
  const b = await plain.boot(i, inst);
  r.plainLeaseMs.push(b.leaseMs);
  r.plainMarkerMs.push(b.markerMs);
}

/** Result of creating many instances at once. */
export interface Burst {
  n: number;
  names: string[];
  errors: string[];
  seconds: number;
  perSecond: number;
  latMs: number[];
  plainSeconds: number;
  plainPerSecond: number;
  plainLatMs: number[];
}

/** n instances POSTed at once (no client-side limit), each timed to Running on one collection watch. */
export async function burst(c: Cloud, plain: PlainRunc, n: number, spec: InstanceSpec, prefix: string): Promise<Burst> {
  const names = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const sent = new Map<string, number>();
  const runningAt = new Map<string, number>();
  const errors: string[] = [];
  const failed = new Set<string>();
  const rv = await collectionVersion(c.client);
  const w = watchInstances(c.client, rv, { labelSelector: `bench=${prefix}` }, (_type, o, at) => {
    const name = o.metadata.name!;
    if (running(o) && !runningAt.has(name)) runningAt.set(name, at);
    if (o.status?.phase === "Failed" && !failed.has(name)) {
      failed.add(name);
      errors.push(`${name} Failed: ${o.status.message ?? ""}`);
    }
  });
  let seconds = NaN;
  try {
    const t0 = performance.now();
    await Promise.all(
      names.map(async (name) => {
        sent.set(name, performance.now());
        await c.client.create(InstanceKind, instanceManifest(name, spec, { bench: prefix })).catch((e: unknown) => {
          failed.add(name);
          errors.push(`${name} create: ${(e as Error).message}`);
        });
      }),
    );
    const all = await poll(() => runningAt.size + failed.size >= n, 180_000, 50);
    if (!all) for (const name of names) if (!runningAt.has(name) && !failed.has(name)) errors.push(`${name} not Running within 180 s`);
    if (runningAt.size) seconds = (Math.max(...runningAt.values()) - t0) / 1000;
  } finally {
    w.stop();
  }
  const latMs = [...runningAt].map(([name, at]) => at - sent.get(name)!);
  // Baseline: the same number of plain runc create+start at once.
  const ids = Array.from({ length: n }, (_, i) => `plain-b${i}`);
  for (const id of ids) await plain.bundle(id, instanceManifest(id, { ...spec, networks: undefined }));
  const p0 = performance.now();
  const plainLatMs = await Promise.all(ids.map((id) => plain.start(id)));
  const plainSeconds = (performance.now() - p0) / 1000;
  for (const id of ids) await plain.remove(id);
  return {
    n,
    names,
    errors,
    seconds,
    perSecond: runningAt.size / seconds,
    latMs,
    plainSeconds,
    plainPerSecond: n / plainSeconds,
    plainLatMs,
  };
}
