// The instance flow with fake drivers: which conditions each situation produces, what the runtime
// is asked to do, and that it waits (not fails) for what is not there yet.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Image, Instance, Network, Port } from "@kumo/api";
import type { InstanceRuntimeSpec, InstanceRuntimeStatus } from "../runtime/types.js";
import type { DhcpLeaseEntry } from "../dhcp/types.js";
import { LEASE_SECONDS } from "./instance-env.js";
import { type FlowDeps, type PassHints, instancePass } from "./instance-flow.js";
import { runtimeId } from "./instance-spec.js";
import { applyReport } from "./instance-status.js";

const SHA = "a".repeat(64);
const image = (name: string, format: "rootfs-tar" | "kernel+initrd", phase: "Ready" | "Pending" = "Ready"): Image => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Image",
  metadata: { name },
  spec: { format },
  status: {
    phase,
    blobs:
      format === "rootfs-tar"
        ? { rootfs: { sha256: SHA, size: 10 } }
        : { kernel: { sha256: SHA, size: 10 }, initrd: { sha256: "b".repeat(64), size: 5 } },
  },
});
const network: Network = {
  apiVersion: "network.kumo.dev/v1",
  kind: "Network",
  metadata: { name: "net1", namespace: "default" },
  spec: { vni: 7, mtu: 1450 },
};
const port = (over: Partial<Port["spec"]> = {}): Port => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Port",
  metadata: { name: "web-net1", namespace: "default", uid: "port-uid" },
  spec: {
    network: "net1",
    deviceOwner: "instance:web",
    hostBinding: "h1",
    macAddress: "52:54:00:aa:bb:cc",
    fixedIPs: [{ subnet: "s1", ipAddress: "10.0.0.5" }],
    ...over,
  },
});
const instance = (over: Partial<Instance["spec"]> = {}, meta: Partial<Instance["metadata"]> = {}): Instance => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Instance",
  metadata: {
    name: "web",
    namespace: "default",
    uid: "inst-uid",
    creationTimestamp: new Date().toISOString(),
    resourceVersion: "1",
    ...meta,
  },
  spec: {
    kind: "container",
    image: "busybox",
    networks: [{ network: "net1" }],
    running: true,
    restartPolicy: "Never",
    ...over,
  },
  status: { host: "h1" },
});

/** A fake world: records what the flow asked for and keeps the instance's status like the API. */
function world(
  o: {
    images?: Image[];
    ports?: Port[];
    ready?: boolean;
    leaseIp?: string;
    runtime?: Partial<InstanceRuntimeStatus>;
    known?: InstanceRuntimeStatus;
    leases?: () => DhcpLeaseEntry[];
  } = {},
) {
  const calls: string[] = [];
  const events: string[] = [];
  let cur: Instance | undefined;
  let ensured: InstanceRuntimeSpec | undefined;
  const d: FlowDeps = {
    self: "h1",
    netnsPrefix: "h1",
    stateDir: "/tmp/x",
    runtime: {
      ensure: async (spec) => {
        ensured = spec;
        calls.push(`ensure ${spec.kind}`);
        return {
          id: spec.id,
          kind: spec.kind,
          state: "running",
          pid: 42,
          startedAt: new Date().toISOString(),
          exitCode: null,
          restartCount: 0,
          timings: { total: 30 },
          ...(spec.kind === "vm" ? { acceleration: "tcg", accelerationReason: "no kvm: ENOENT" } : {}),
          ...o.runtime,
        };
      },
      stop: async (id) => void calls.push(`stop ${id}`),
      remove: async (id) => void calls.push(`remove ${id}`),
    },
    images: {
      has: async () => false,
      ensure: async (img) => ({
        name: img.metadata.name!,
        format: img.spec!.format,
        files: { rootfs: "/c/r", kernel: "/c/k", initrd: "/c/i" },
        rootfs: img.spec!.format === "rootfs-tar" ? "/c/rootfs" : undefined,
        hit: false,
        downloadedBytes: 10,
        ms: 3,
      }),
    },
    dataplane: {
      networkState: () =>
        o.ready === false
          ? { ready: false, reason: "BridgeMissing", message: "bridge kbr-7 is not up yet" }
          : { ready: true, reason: "BridgeUp", message: "up", bridge: "kbr-7", mtu: 1450 },
      leases: async () => o.leases?.() ?? [],
      watchLeases: () => ({ next: (ms) => new Promise((r) => setTimeout(r, ms)), close: () => undefined }),
    },
    net: {
      plug: async (p) => void calls.push(`plug ${p.portNetns} ${p.mac} ${p.bridge}`),
      unplug: async (p) => void calls.push(`unplug ${p.portNetns}`),
      dhcp: async (ns) => {
        calls.push(`dhcp ${ns}`);
        return { ip: o.leaseIp ?? "10.0.0.5", prefixLength: 24, dns: [] };
      },
      hasAddress: async () => false,
      fileExists: async () => true,
    },
    view: () => ({
      images: o.images ?? [image("busybox", "rootfs-tar"), image("tiny-vm", "kernel+initrd")],
      ports: o.ports ?? [port()],
      networks: [network],
    }),
    runtimeState: () => o.known,
    write: async (inst, r) => {
      const before = JSON.stringify(cur ?? inst);
      cur = applyReport(cur ?? inst, r);
      return JSON.stringify(cur) !== before;
    },
    event: (_i, type, reason) => void events.push(`${type} ${reason}`),
    addressed: new Map(),
    leaseWaitMs: 300,
    leasePollMs: 10,
  };
  const cond = (t: string) => cur?.status?.conditions?.find((c) => c.type === t);
  return { d, calls, events, cond, status: () => cur?.status, ensured: () => ensured };
}

const signal = new AbortController().signal;

describe("instance flow (fakes)", () => {
  it("container: image, netns behind the port, DHCP, runc with the netns, Running", async () => {
    const w = world();
    const inst = instance({ command: ["sleep", "9"] });
    assert.equal(await instancePass(w.d, inst, signal), true);
    const ns = "h1-i-" + runtimeId(inst).slice(-8);
    assert.deepEqual(w.calls, [`plug ${ns} 52:54:00:aa:bb:cc kbr-7`, `dhcp ${ns}`, "ensure container"]);
    const spec = w.ensured() as Extract<InstanceRuntimeSpec, { kind: "container" }>;
    assert.deepEqual(
      [spec.netnsPath, spec.rootfs, spec.command, spec.mounts?.[0]?.destination],
      [`/run/netns/${ns}`, "/c/rootfs", ["sleep", "9"], "/etc/resolv.conf"],
    );
    for (const t of ["ImageReady", "NetworkReady", "AddressAssigned", "Started", "Running"]) assert.equal(w.cond(t)?.status, "True", t);
    assert.equal(w.status()!.phase, "Running");
    assert.match(w.cond("ImageReady")?.message ?? "", /downloaded and verified/);
    // Second pass: address known, nothing changes.
    const again = world();
    again.d.addressed.set(runtimeId(inst), "10.0.0.5");
    await instancePass(again.d, inst, signal);
    assert.ok(!again.calls.some((c) => c.startsWith("dhcp")), "no DHCP once the address is known");
  });

  it("waits with a reason: missing image, image not uploaded, port not bound, bridge not up", async () => {
    const cases: [Parameters<typeof world>[0], string, string][] = [
      [{ images: [] }, "ImageReady", "ImageNotFound"],
      [{ images: [image("busybox", "rootfs-tar", "Pending")] }, "ImageReady", "ImageNotReady"],
      [{ ports: [port({ hostBinding: undefined })] }, "NetworkReady", "WaitingForPort"],
      [{ ready: false }, "NetworkReady", "BridgeMissing"],
    ];
    for (const [o, step, reason] of cases) {
      const w = world(o);
      await instancePass(w.d, instance(), signal);
      assert.deepEqual([w.cond(step)?.status, w.cond(step)?.reason, w.status()?.phase], ["False", reason, "Starting"], reason);
      assert.ok(!w.calls.some((c) => c.startsWith("ensure")), `${reason}: runtime not started`);
    }
  });

  it("refuses an unexpected DHCP address and does not start the container", async () => {
    const w = world({ leaseIp: "10.0.0.99" });
    await instancePass(w.d, instance(), signal);
    assert.deepEqual([w.cond("AddressAssigned")?.status, w.cond("AddressAssigned")?.reason], ["False", "UnexpectedAddress"]);
    assert.ok(!w.calls.includes("ensure container"));
    assert.ok(w.events.includes("Warning UnexpectedAddress"));
  });

  it("vm: tap NIC on the bridge, TCG reported, AddressAssigned only from a lease granted in this run", async () => {
    let polls = 0;
    const now = Math.floor(Date.now() / 1000);
    const w = world({
      leases: () => {
        polls++;
        // First an old lease (from before this boot), then the guest's fresh one.
        const granted = polls < 3 ? now - 3600 : now;
        return [{ mac: "52:54:00:aa:bb:cc", ip: "10.0.0.5", expiry: granted + LEASE_SECONDS }];
      },
    });
    await instancePass(w.d, instance({ kind: "vm", image: "tiny-vm" }), signal);
    const spec = w.ensured() as Extract<InstanceRuntimeSpec, { kind: "vm" }>;
    assert.deepEqual(
      [spec.kernel, spec.initrd, spec.nics?.[0]?.bridge, spec.nics?.[0]?.mac, spec.netns],
      ["/c/k", "/c/i", "kbr-7", "52:54:00:aa:bb:cc", undefined],
    );
    assert.ok(polls >= 3, "waited past the stale lease");
    assert.equal(w.cond("AddressAssigned")?.status, "True");
    assert.equal(w.status()!.acceleration, "tcg");
    assert.match(w.status()!.message!, /TCG emulation/);
    assert.ok(!w.calls.some((c) => c.startsWith("plug") || c.startsWith("dhcp")), "the guest does its own DHCP");
  });

  it("vm without a lease: AddressAssigned False NoLease and a Warning, not Running", async () => {
    const w = world({ leases: () => [] });
    await instancePass(w.d, instance({ kind: "vm", image: "tiny-vm" }), signal);
    assert.deepEqual([w.cond("Started")?.status, w.cond("AddressAssigned")?.reason, w.cond("Running")], ["True", "NoLease", undefined]);
    assert.ok(w.events.includes("Warning NoLease"));
  });

  it("vm: a pass waits one slice for the lease, then asks to run again; after the deadline NoLease is said once", async () => {
    const startedAt = new Date().toISOString();
    const w = world({ leases: () => [], runtime: { startedAt } });
    Object.assign(w.d, { leaseSliceMs: 30, leaseWaitMs: 200 });
    const hints: PassHints = {};
    const t0 = Date.now();
    await instancePass(w.d, instance({ kind: "vm", image: "tiny-vm" }), signal, hints);
    assert.ok(Date.now() - t0 < 150, "the worker is given back after the slice, not the whole wait");
    assert.equal(hints.requeueAfterMs, 0);
    assert.deepEqual([w.status()!.phase, w.cond("AddressAssigned")], ["Starting", undefined]);
    await new Promise((r) => setTimeout(r, 220)); // the deadline runs from the VM's start, across passes
    const late: PassHints = {};
    const inst = { ...instance({ kind: "vm", image: "tiny-vm" }), status: w.status() };
    await instancePass(w.d, inst, signal, late);
    assert.equal(w.cond("AddressAssigned")?.reason, "NoLease");
    assert.equal(late.requeueAfterMs, undefined, "no hurry once the wait is over: the resync looks again");
    const again = { ...inst, status: w.status() };
    await instancePass(w.d, again, signal, {});
    assert.equal(w.events.filter((e) => e === "Warning NoLease").length, 1, "said once");
  });

  it("an exited instance under Never is Failed with a Warning; an OOM kill says so", async () => {
    const w = world({ runtime: { state: "exited", detail: "oom-killed" } });
    await instancePass(w.d, instance(), signal);
    assert.deepEqual([w.status()!.phase, w.cond("Running")?.reason], ["Failed", "OOMKilled"]);
    assert.match(w.status()!.message!, /not restarted/);
    assert.ok(w.events.includes("Warning Failed"));
  });

  it("a restart by policy is counted and reported", async () => {
    const w = world({ runtime: { restartCount: 2 } });
    await instancePass(w.d, instance({ restartPolicy: "Always" }), signal);
    assert.equal(w.status()!.restarts, 2);
    assert.ok(w.events.includes("Warning Restarted"));
  });

  it("spec.running=false stops a running instance; a reboot request stops and starts it", async () => {
    const inst = instance({ running: false });
    const known = {
      id: runtimeId(inst),
      kind: "container",
      state: "running",
      pid: 1,
      startedAt: new Date(Date.now() - 60_000).toISOString(),
      exitCode: null,
      restartCount: 0,
      timings: {},
    } as InstanceRuntimeStatus;
    const w = world({ known });
    await instancePass(w.d, inst, signal);
    assert.ok(w.calls.includes(`stop ${runtimeId(inst)}`));
    assert.ok(!w.calls.includes("ensure container"));
    assert.deepEqual([w.status()!.phase, w.cond("Running")?.reason], ["Stopped", "Stopped"]);

    const rb = instance({}, { annotations: { "compute.kumo.dev/reboot-requested-at": new Date().toISOString() } });
    const w2 = world({ known });
    await instancePass(w2.d, rb, signal);
    const stopAt = w2.calls.indexOf(`stop ${runtimeId(rb)}`);
    assert.ok(stopAt >= 0 && w2.calls.indexOf("ensure container") > stopAt, "stop, then ensure");
    assert.equal(w2.status()!.phase, "Running");
    assert.ok(w2.events.includes("Normal Rebooting"));
    // `kumo instance start` on a Failed (exited, not restarted) instance asks for a reboot: revived.
    const w3 = world({ known: { ...known, state: "exited", pid: null } });
    await instancePass(w3.d, rb, signal);
    assert.deepEqual([w3.calls.includes(`stop ${runtimeId(rb)}`), w3.status()!.phase], [true, "Running"]);
  });

  it("deletion removes the runtime and netns, then signals Started=False/Deleted", async () => {
    const inst = instance({}, { deletionTimestamp: new Date().toISOString(), finalizers: ["compute.kumo.dev/instance"] });
    const w = world();
    await instancePass(w.d, inst, signal);
    assert.deepEqual(w.calls, [`remove ${runtimeId(inst)}`, `unplug h1-i-${runtimeId(inst).slice(-8)}`]);
    assert.deepEqual([w.cond("Started")?.status, w.cond("Started")?.reason, w.status()!.phase], ["False", "Deleted", "Terminating"]);
  });
});
