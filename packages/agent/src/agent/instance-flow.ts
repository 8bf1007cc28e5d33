/**
 * One level-triggered pass over one instance bound to this host: image → ports and network →
 * (containers: netns behind the port, DHCP, runc) / (VMs: taps, QEMU, wait for the guest's lease)
 * → Running. Every step is reported as a condition; the pass stops at the first step that cannot
 * be done yet and says why. Stop, reboot, restart-policy outcomes and deletion are handled here too.
 */
import type { Image, Instance, Network, Port } from "@kumo/api";
import { portIfName } from "../network/port-plug.js";
import type { InstanceRuntimeStatus, RuntimeDriver } from "../runtime/types.js";
import type { ImageCache } from "./image-cache.js";
import { LEASE_SECONDS, type InstanceDataplane, type NetOps } from "./instance-env.js";
import {
  containerRuntimeSpec,
  instanceNetns,
  instancePorts,
  networkOf,
  rebootRequested,
  runtimeId,
  uidHash,
  vmNic,
  vmRuntimeSpec,
  type InstancePort,
} from "./instance-spec.js";
import { StatusReport, type AgentStep } from "./instance-status.js";

/** Everything a pass uses (fakes in tests). */
export interface FlowDeps {
  self: string;
  netnsPrefix: string;
  /** Where the DHCP client keeps its hook script. */
  stateDir: string;
  runtime: Pick<RuntimeDriver, "ensure" | "stop" | "remove">;
  images: Pick<ImageCache, "has" | "ensure">;
  dataplane: InstanceDataplane;
  net: NetOps;
  view(): { images: Image[]; ports: Port[]; networks: Network[] };
  /** Last runtime status seen by list() (for stop/reboot decisions before ensure). */
  runtimeState(id: string): InstanceRuntimeStatus | undefined;
  /** Writes the report into the instance's status; resolves true when something changed. */
  write(inst: Instance, r: StatusReport): Promise<boolean>;
  event(inst: Instance, type: "Normal" | "Warning", reason: string, message: string): void;
  /** Runtime id → address the container's eth0 got (skips DHCP on later passes). */
  addressed: Map<string, string>;
  /** How long a VM may take, from its start, to get its lease before a pass reports NoLease. */
  leaseWaitMs: number;
  /**
   * How long one pass waits for a lease before it gives its worker back (PassHints.requeueAfterMs says when
   * to look again); unset: the pass waits up to the whole leaseWaitMs.
   */
  leaseSliceMs?: number;
  /** Re-read leases at least this often (change notifications usually come first). */
  leasePollMs: number;
}

/** What a pass tells its caller besides "changed": when to run it again although nothing changed. */
export interface PassHints {
  requeueAfterMs?: number;
}

/** Carries the step a pass was at when it failed. */
export class StepError extends Error {
  constructor(
    readonly step: AgentStep,
    cause: unknown,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }
}

const now = () => new Date().toISOString();

async function at<T>(step: AgentStep, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new StepError(step, e);
  }
}

/** Runs one pass; resolves true when it changed something (status or runtime). */
export async function instancePass(d: FlowDeps, inst: Instance, signal: AbortSignal, hints: PassHints = {}): Promise<boolean> {
  const id = runtimeId(inst);
  const r = new StatusReport();
  if (inst.metadata.deletionTimestamp) return teardown(d, inst, id);
  const v = d.view();
  const image = v.images.find((i) => i.metadata.name === inst.spec!.image);
  if (!image) return d.write(inst, r.blocked("ImageReady", "ImageNotFound", `image ${inst.spec!.image} does not exist`));
  if (image.status?.phase !== "Ready")
    return d.write(inst, r.blocked("ImageReady", "ImageNotReady", `image ${inst.spec!.image} is not uploaded yet`));
  let changed = false;
  if (!(await d.images.has(image))) {
    const mib = Object.values(image.status.blobs ?? {}).reduce((a, b) => a + b.size, 0) / 1048576;
    changed = await d.write(
      inst,
      new StatusReport().blocked("ImageReady", "Downloading", `downloading image ${image.metadata.name} (${mib.toFixed(1)} MiB)`),
    );
  }
  const imageDone = inst.status?.conditions?.some((c) => c.type === "ImageReady" && c.status === "True");
  const cached = await at("ImageReady", () => d.images.ensure(image, signal, { quiet: imageDone }));
  r.done(
    "ImageReady",
    cached.hit ? "Cached" : "Downloaded",
    cached.hit
      ? `image ${cached.name} cached`
      : cached.downloadedBytes
        ? `image ${cached.name}: ${(cached.downloadedBytes / 1048576).toFixed(1)} MiB downloaded and verified in ${cached.ms} ms`
        : `image ${cached.name}: waited ${cached.ms} ms for a download another start began`,
    { at: now() },
  );

  const ports = instancePorts(inst, v.ports, d.self);
  const waiting = ports.find((p) => p.waiting);
  if (waiting) return (await d.write(inst, r.blocked("NetworkReady", "WaitingForPort", waiting.waiting!))) || changed;
  const nets: { p: InstancePort; net: Network; bridge: string; mtu: number }[] = [];
  for (const p of ports) {
    const net = networkOf(v.networks, inst.metadata.namespace, p.network);
    const st = d.dataplane.networkState(inst.metadata.namespace!, p.network, p.port!.spec!.macAddress);
    if (!net || !st.ready)
      return (
        (await d.write(
          inst,
          r.blocked("NetworkReady", net ? st.reason : "NetworkNotFound", net ? st.message : `network ${p.network} does not exist`),
        )) || changed
      );
    nets.push({ p, net, bridge: st.bridge!, mtu: st.mtu ?? net.spec!.mtu ?? 1450 });
  }
  r.done(
    "NetworkReady",
    ports.length ? "BridgeUp" : "NoNetworks",
    ports.length ? nets.map((n) => `${n.p.network}: ${n.bridge}`).join(", ") : "no networks requested",
    { at: now() },
  );

  const known = d.runtimeState(id);
  if (inst.spec!.running === false) return (await stop(d, inst, id, known, r)) || changed;
  // A reboot also revives an instance that died and was not restarted (`kumo instance start` asks for one).
  if ((known?.state === "running" || known?.state === "exited") && rebootRequested(inst, known.startedAt)) {
    const wait = new StatusReport().set({ type: "Running", status: "False", reason: "Rebooting", message: "reboot requested" });
    wait.set({ type: "Started", status: "False", reason: "Rebooting", message: "stopping for a reboot" }).phase = "Starting";
    await d.write(inst, wait);
    await at("Started", () => d.runtime.stop(id));
    d.event(inst, "Normal", "Rebooting", `stopped ${inst.spec!.kind} for the requested reboot; starting it again`);
    changed = true;
  }

  let st: InstanceRuntimeStatus;
  if (inst.spec!.kind === "container") {
    if (nets.length > 1)
      return (
        (await d.write(
          inst,
          r.blocked("NetworkReady", "Unsupported", `a container has one interface (eth0): ${nets.length} networks requested`),
        )) || changed
      );
    const n = nets[0];
    let net: { netnsPath: string; resolvConf?: string } | undefined;
    if (n) {
      const port = n.p.port!;
      const ip = port.spec!.fixedIPs![0].ipAddress;
      const netns = instanceNetns(d.netnsPrefix, uidHash(inst.metadata.uid!));
      await at("NetworkReady", () =>
        d.net.plug({ portNetns: netns, bridge: n.bridge, mac: port.spec!.macAddress!, mtu: n.mtu, ifName: portIfName(port.metadata.uid!) }),
      );
      if (d.addressed.get(id) !== ip && !(await d.net.hasAddress(netns, ip))) {
        const t0 = Date.now();
        const lease = await at("AddressAssigned", () => d.net.dhcp(netns, { stateDir: d.stateDir, timeoutMs: 15_000 }));
        if (lease.ip !== ip) {
          d.event(inst, "Warning", "UnexpectedAddress", `DHCP in ${netns} gave ${lease.ip}, port ${port.metadata.name} has ${ip}`);
          return (
            (await d.write(inst, r.blocked("AddressAssigned", "UnexpectedAddress", `DHCP gave ${lease.ip}, expected ${ip}`))) || changed
          );
        }
        r.done("AddressAssigned", "DHCP", `eth0 got ${ip} over DHCP in ${Date.now() - t0} ms`, { at: now() });
        changed = true;
      } else r.done("AddressAssigned", "DHCP", `eth0 has ${ip}`);
      d.addressed.set(id, ip);
      const resolv = `/etc/netns/${netns}/resolv.conf`;
      net = { netnsPath: `/run/netns/${netns}`, resolvConf: (await d.net.fileExists(resolv)) ? resolv : undefined };
    } else r.done("AddressAssigned", "NoNetworks", "no networks requested");
    st = await at("Started", () => d.runtime.ensure(containerRuntimeSpec(inst, id, cached, net)));
  } else {
    const nics = nets.map((n) => vmNic(n.p.port!, n.net));
    st = await at("Started", () => d.runtime.ensure(vmRuntimeSpec(inst, id, cached, image.spec!.cmdline, nics)));
  }
  return (
    (await outcome(
      d,
      inst,
      st,
      nets.map((n) => n.p.port!),
      r,
      signal,
      hints,
    )) || changed
  );
}

// Reports what the runtime did: running (and for VMs, the guest's lease), or dead per restart policy.
async function outcome(
  d: FlowDeps,
  inst: Instance,
  st: InstanceRuntimeStatus,
  ports: Port[],
  r: StatusReport,
  signal: AbortSignal,
  hints: PassHints,
): Promise<boolean> {
  const kind = inst.spec!.kind;
  Object.assign(r, {
    runStartedAt: st.startedAt ?? undefined,
    startedAt: st.startedAt ?? undefined,
    restarts: st.restartCount,
    acceleration: st.acceleration,
  });
  if (st.restartCount > (inst.status?.restarts ?? 0))
    d.event(
      inst,
      "Warning",
      "Restarted",
      `${kind} exited and was restarted (restart #${st.restartCount}, restartPolicy ${inst.spec!.restartPolicy ?? "Never"})`,
    );
  if (st.state === "exited") {
    const why = st.detail === "oom-killed" ? "OOMKilled" : "Exited";
    r.set({
      type: "Running",
      status: "False",
      reason: why,
      message:
        `${kind} ${why === "OOMKilled" ? "was killed by the OOM killer" : "exited"}` +
        (st.detail && why === "Exited" ? ` (${st.detail})` : ""),
    });
    r.phase = "Failed";
    r.message = `${r.conditions.get("Running")!.message}; restartPolicy ${inst.spec!.restartPolicy ?? "Never"}: not restarted`;
    if (inst.status?.phase !== "Failed") d.event(inst, "Warning", "Failed", r.message);
    return d.write(inst, r);
  }
  if (st.state !== "running")
    return d.write(inst, r.blocked("Started", "NotRunning", `runtime reports ${st.state}${st.detail ? ` (${st.detail})` : ""}`));
  const timings = Object.entries(st.timings)
    .map(([k, ms]) => `${k} ${Math.round(ms)}`)
    .join(", ");
  const accel =
    kind === "vm" ? `, ${st.acceleration}${st.acceleration === "tcg" ? ` emulation (${st.accelerationReason ?? "no kvm"})` : ""}` : "";
  r.done("Started", kind === "vm" ? "QEMU" : "Runc", `pid ${st.pid}${accel}; ms: ${timings}`, {
    at: st.startedAt ?? undefined,
    perRun: true,
  });
  if (kind === "vm") {
    const w = await waitForLeases(d, inst, ports, st, r, signal);
    if (!w.leased) {
      hints.requeueAfterMs = w.requeueAfterMs;
      return w.changed;
    }
  }
  r.done(
    "Running",
    "Running",
    kind === "vm" && st.acceleration === "tcg"
      ? "running under TCG emulation (no usable KVM): slower than hardware virtualisation"
      : `running (pid ${st.pid})`,
    { at: now(), perRun: true },
  );
  r.phase = "Running";
  r.message = st.acceleration === "tcg" ? `running under TCG emulation: ${st.accelerationReason ?? "KVM unusable"}` : "";
  return d.write(inst, r);
}

/** How a lease wait ended: leased, or not (yet), with whether it wrote anything and when to look again. */
type LeaseWait = { leased: true } | { leased: false; changed: boolean; requeueAfterMs?: number };

// A VM's address is the guest's business: wait for dnsmasq to grant each NIC's MAC its fixed IP in
// this run (lease granted after the VM started), re-reading the lease file whenever it changes. The
// deadline runs from the VM's start, so passes that each wait a slice (leaseSliceMs) share one wait.
async function waitForLeases(
  d: FlowDeps,
  inst: Instance,
  ports: Port[],
  st: InstanceRuntimeStatus,
  r: StatusReport,
  signal: AbortSignal,
): Promise<LeaseWait> {
  if (ports.length === 0) {
    r.done("AddressAssigned", "NoNetworks", "no networks requested", { perRun: true });
    return { leased: true };
  }
  const cur = inst.status?.conditions?.find((c) => c.type === "AddressAssigned");
  const startedMs = Date.parse(st.startedAt ?? "");
  if (cur?.status === "True" && Date.parse(cur.lastTransitionTime ?? "") >= startedMs) return { leased: true };
  r.phase = "Starting";
  r.message = "waiting for the guest to boot and ask for its address over DHCP";
  let changed = await d.write(inst, r);
  const deadline = (Number.isFinite(startedMs) ? startedMs : Date.now()) + d.leaseWaitMs;
  const sliceEnd = d.leaseSliceMs === undefined ? Infinity : Date.now() + d.leaseSliceMs;
  const ns = inst.metadata.namespace!;
  const watches = [...new Set(ports.map((p) => p.spec!.network))].map((n) => d.dataplane.watchLeases(ns, n));
  try {
    for (;;) {
      const missing: string[] = [];
      for (const p of ports) {
        const leases = await d.dataplane.leases(ns, p.spec!.network);
        const ip = p.spec!.fixedIPs![0].ipAddress;
        const l = leases.find((x) => x.mac === p.spec!.macAddress!.toLowerCase() && x.ip === ip);
        // Granted in this run: a lease left from before a reboot does not count.
        if (!l || (l.expiry !== 0 && (l.expiry - LEASE_SECONDS) * 1000 < startedMs - 2000)) missing.push(`${p.spec!.macAddress} → ${ip}`);
      }
      if (missing.length === 0) break;
      if (Date.now() >= deadline) {
        // Said once; later passes still look (a slow guest may yet ask) without repeating the warning.
        if (cur?.reason !== "NoLease") {
          const waited = Math.round(d.leaseWaitMs / 1000);
          const hint = `check the console (kumo logs ${inst.metadata.name})`;
          d.event(inst, "Warning", "NoLease", `no DHCP lease for ${missing.join(", ")} ${waited} s after boot: ${hint}`);
        }
        const why = `no DHCP lease yet for ${missing.join(", ")} (see kumo logs ${inst.metadata.name})`;
        changed = (await d.write(inst, r.blocked("AddressAssigned", "NoLease", why))) || changed;
        return { leased: false, changed };
      }
      if (Date.now() >= sliceEnd) return { leased: false, changed, requeueAfterMs: 0 };
      const left = Math.min(deadline, sliceEnd) - Date.now();
      await Promise.race(watches.map((w) => w.next(Math.max(1, Math.min(d.leasePollMs, left)), signal)));
    }
  } finally {
    watches.forEach((w) => w.close());
  }
  r.done("AddressAssigned", "DHCPLease", ports.map((p) => `${p.spec!.fixedIPs![0].ipAddress} leased to ${p.spec!.macAddress}`).join(", "), {
    at: now(),
    perRun: true,
  });
  return { leased: true };
}

async function stop(d: FlowDeps, inst: Instance, id: string, known: InstanceRuntimeStatus | undefined, r: StatusReport): Promise<boolean> {
  let changed = false;
  if (known && known.state !== "stopped" && known.state !== "exited") {
    await at("Started", () => d.runtime.stop(id));
    d.event(inst, "Normal", "Stopped", `${inst.spec!.kind} stopped (spec.running=false)`);
    changed = true;
  }
  r.set({ type: "Started", status: "False", reason: "Stopped", message: "spec.running is false" });
  r.set({ type: "Running", status: "False", reason: "Stopped", message: "spec.running is false" });
  // A VM's guest asks for its address again on the next boot; a container's netns keeps it.
  if (inst.spec!.kind === "vm") r.set({ type: "AddressAssigned", status: "False", reason: "Stopped", message: "the guest is off" });
  r.phase = "Stopped";
  r.message = "stopped (kumo instance start to run it again)";
  return (await d.write(inst, r)) || changed;
}

// Deletion signal: runtime, netns and taps go; then Started=False/Deleted tells the server's
// controller it may release ports, host capacity and the finalizer.
async function teardown(d: FlowDeps, inst: Instance, id: string): Promise<boolean> {
  const already = inst.status?.conditions?.some((c) => c.type === "Started" && c.reason === "Deleted");
  await removeRuntime(d, id, inst.metadata.uid!);
  const r = new StatusReport();
  r.set({ type: "Started", status: "False", reason: "Deleted", message: `runtime removed from host ${d.self}` });
  r.set({ type: "Running", status: "False", reason: "Deleted", message: "instance is being deleted" });
  r.phase = "Terminating";
  r.message = "runtime removed; waiting for the server to release ports and host capacity";
  if (!already) d.event(inst, "Normal", "Deleted", `${inst.spec!.kind} ${id} and its network plumbing removed from host ${d.self}`);
  return (await d.write(inst, r)) || !already;
}

/** Removes a runtime and its container netns (taps go with the VM); idempotent. */
export async function removeRuntime(
  d: Pick<FlowDeps, "runtime" | "net" | "netnsPrefix" | "addressed">,
  id: string,
  uidOrHash: string,
): Promise<void> {
  await d.runtime.remove(id);
  const hash = /^[0-9a-f]{8}$/.test(uidOrHash) ? uidOrHash : uidHash(uidOrHash);
  // Deleting the netns destroys the veth pair with it (its eth0 end lives there).
  await d.net.unplug({ portNetns: instanceNetns(d.netnsPrefix, hash), ifName: "" });
  d.addressed.delete(id);
}
