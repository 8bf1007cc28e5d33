/**
 * bench/instances: how fast kumo starts instances, each figure beside a baseline measured in the same
 * run (interleaved with it, so the machine's load hits both alike):
 *   1. container create → Running as seen on a watch of the instance, one at a time (p50/p99), vs plain
 *      `runc create` + `runc start` of the bundle the agent would write for it;
 *   2. VM create → AddressAssigned as seen on a watch, vs QEMU started by hand with the agent's command
 *      line, its tap on a scratch bridge in a scratch netns whose dnsmasq leases the VM's MAC;
 *   3. N containers created at once across 2 hosts, without a network (the compute path alone) and
 *      with one (ports, IPAM, DHCP too): errors, instances/s until all Running, p50/p99, each vs N
 *      plain runc create+start at once;
 *   4. scheduler placements/s and decision p99 with 1,000 API-registered hosts (the scheduler bench).
 * Needs root. Everything created (cloud, netns, bridge, dnsmasq, QEMU, runc containers, cgroups, temp
 * dirs) is removed by pid/name, also on failure or Ctrl-C. Exit code 0 even on MISS: a measurement.
 *   node bench/dist/instances.js [--containers 20] [--vms 3] [--burst 50]
 *        [--sched-hosts 1000] [--sched-backlog 2000] [--only containers,vms,burst,scheduler]
 */
import { spawnSync } from "node:child_process";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ImageKind, NetworkKind, SubnetKind, type Image } from "@kumo/api";
import { deleteAndWait, startCloud, NS, type Cloud } from "./instances-cloud.js";
import { burst, containerSeries, CONTAINER, vmSeries, type Burst, type ContainerSeries, type VmSeries } from "./instances-flows.js";
import { PlainQemu } from "./instances-qemu.js";
import { PlainRunc } from "./instances-runc.js";
import { schedulerBench, type SchedulerFigures } from "./instances-scheduler.js";
import { printReport, type Row } from "./instances-report.js";
import { r3, summarize } from "./stats.js";

const { values: opt } = parseArgs({
  options: {
    containers: { type: "string", default: "20" },
    vms: { type: "string", default: "3" },
    burst: { type: "string", default: "50" },
    "sched-hosts": { type: "string", default: "1000" },
    "sched-backlog": { type: "string", default: "2000" },
    "sched-live": { type: "string", default: "500" },
    only: { type: "string", default: "containers,vms,burst,scheduler" },
  },
});
const only = new Set(opt.only.split(","));
const T0 = performance.now();
const log = (s: string) => process.stderr.write(`[instances ${((performance.now() - T0) / 1000).toFixed(0).padStart(3)} s] ${s}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");

// Cleanups run newest first, at the end of the cloud phase or on SIGINT/SIGTERM; concurrent calls share one run.
const cleanups: { what: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
let stopping = false;
function cleanupAll(): Promise<void> {
  cleaning ??= (async () => {
    for (let c = cleanups.pop(); c; c = cleanups.pop()) {
      try {
        const left = await c.run();
        if (Array.isArray(left) && left.length) log(`${c.what}: ${left.join("; ")}`);
      } catch (e) {
        log(`cleanup ${c.what} failed: ${(e as Error).message}`);
      }
    }
  })().finally(() => (cleaning = undefined));
  return cleaning;
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    stopping = true;
    log(`${sig}: cleaning up`);
    // cleanupAll logs each failed cleanup itself; exit either way.
    const exit = () => process.exit(130);
    cleanupAll().then(exit, exit);
  });
}

const rows: Row[] = [];
const notes: string[] = [];
const json: Record<string, unknown> = { bench: "instances", cpus: availableParallelism(), node: process.version, loadBefore: load() };
const fmt = (v: number) => (Number.isFinite(v) ? `${v.toFixed(v < 100 ? 1 : 0)} ms` : "n/a");
const signed = (v: number) => (Number.isFinite(v) ? `${v >= 0 ? "+" : ""}${v.toFixed(0)} ms` : "n/a");
const p50s = (xs: number[]) => summarize(xs.filter(Number.isFinite)).p50;

/** Records a section that could not be measured: the reason, never a number. */
function unmeasured(what: string, target: string, why: string): void {
  rows.push({ what, kumo: "not measured", baseline: "", delta: "", target, result: "MISS" });
  notes.push(`${what}: ${why}`);
}

function reportContainers(s: ContainerSeries): void {
  const k = summarize(s.kumoMs);
  const b = summarize(s.plainMs);
  rows.push({
    what: `container create→Running (watch), p50, n=${k.n}`,
    kumo: fmt(k.p50),
    baseline: `plain runc create+start ${fmt(b.p50)}`,
    delta: signed(k.p50 - b.p50),
    target: "≤ baseline + 50 ms",
    result: k.p50 - b.p50 <= 50 ? "PASS" : "MISS",
  });
  rows.push({
    what: "container create→Running (watch), p99",
    kumo: fmt(k.p99),
    baseline: `plain runc create+start ${fmt(b.p99)}`,
    delta: signed(k.p99 - b.p99),
    target: "",
    result: "",
  });
  rows.push({
    what: "  create → Scheduled / Started / Running (condition times, p50)",
    kumo: `${fmt(p50s(s.toScheduled))} / ${fmt(p50s(s.toStarted))} / ${fmt(p50s(s.toRunningCond))}`,
    baseline: `agent's own runc create+start ${fmt(p50s(s.agentRuncMs))}`,
    delta: "",
    target: "",
    result: "",
  });
  json.container = {
    n: k.n,
    kumoP50Ms: r3(k.p50),
    kumoP99Ms: r3(k.p99),
    plainP50Ms: r3(b.p50),
    plainP99Ms: r3(b.p99),
    overheadP50Ms: r3(k.p50 - b.p50),
    toScheduledP50Ms: r3(p50s(s.toScheduled)),
    toStartedP50Ms: r3(p50s(s.toStarted)),
    toRunningConditionP50Ms: r3(p50s(s.toRunningCond)),
    agentRuncP50Ms: r3(p50s(s.agentRuncMs)),
    warmupMs: s.warmupMs.map(r3),
    samples: { kumo: s.kumoMs.map(r3), plain: s.plainMs.map(r3) },
  };
}

function reportVms(s: VmSeries): void {
  const k = summarize(s.kumoMs);
  const b = summarize(s.plainLeaseMs);
  rows.push({
    what: `VM create→AddressAssigned (watch), p50, n=${k.n} (${s.acceleration})`,
    kumo: fmt(k.p50),
    baseline: `plain QEMU boot→DHCP lease ${fmt(b.p50)}`,
    delta: signed(k.p50 - b.p50),
    target: "≤ baseline + 200 ms",
    result: k.p50 - b.p50 <= 200 ? "PASS" : "MISS",
  });
  const paired = s.kumoMs.map((v, i) => v - s.plainLeaseMs[i]);
  rows.push({
    what: "VM create→AddressAssigned, min–max",
    kumo: `${fmt(Math.min(...s.kumoMs))}–${fmt(k.max)}`,
    baseline: `plain ${fmt(Math.min(...s.plainLeaseMs))}–${fmt(b.max)}`,
    delta: `paired p50 ${signed(summarize(paired).p50)}`,
    target: "",
    result: "",
  });
  rows.push({
    what: "  create → Started / AddressAssigned (condition times, p50)",
    kumo: `${fmt(p50s(s.toStarted))} / ${fmt(p50s(s.kumoCondMs))}`,
    baseline: `guest's "eth0 <ip>" marker ${fmt(p50s(s.plainMarkerMs))}`,
    delta: "",
    target: "",
    result: "",
  });
  rows.push({
    what: "  first VM on the host (download, KVM probe; not counted)",
    kumo: fmt(s.warmupMs),
    baseline: `plain first boot ${fmt(s.plainWarmupMs)}`,
    delta: "",
    target: "",
    result: "",
  });
  json.vm = {
    n: k.n,
    acceleration: s.acceleration,
    kumoP50Ms: r3(k.p50),
    kumoMaxMs: r3(k.max),
    kumoConditionP50Ms: r3(p50s(s.kumoCondMs)),
    toStartedP50Ms: r3(p50s(s.toStarted)),
    pairedOverheadP50Ms: r3(summarize(paired).p50),
    plainLeaseP50Ms: r3(b.p50),
    plainLeaseMaxMs: r3(b.max),
    plainMarkerP50Ms: r3(p50s(s.plainMarkerMs)),
    overheadP50Ms: r3(k.p50 - b.p50),
    warmupMs: r3(s.warmupMs),
    plainWarmupMs: r3(s.plainWarmupMs),
    samples: { kumo: s.kumoMs.map(r3), plainLease: s.plainLeaseMs.map(r3), plainMarker: s.plainMarkerMs.map(r3) },
  };
}

function reportBurst(s: Burst, network: boolean): void {
  const k = summarize(s.latMs);
  const b = summarize(s.plainLatMs);
  const what = `${s.n} containers at once${network ? " (with network)" : ""}`;
  rows.push({
    what: `${what}: errors`,
    kumo: String(s.errors.length),
    baseline: "",
    delta: "",
    target: "0",
    result: s.errors.length === 0 ? "PASS" : "MISS",
  });
  rows.push({
    what: `${what}: until all Running`,
    kumo: `${s.perSecond.toFixed(1)} instances/s (${s.seconds.toFixed(1)} s)`,
    baseline: `plain runc ×${s.n} at once ${s.plainPerSecond.toFixed(1)}/s (${s.plainSeconds.toFixed(1)} s)`,
    delta: "",
    target: "",
    result: "",
  });
  rows.push({
    what: `${what}: create→Running p50 / p99`,
    kumo: `${fmt(k.p50)} / ${fmt(k.p99)}`,
    baseline: `plain ${fmt(b.p50)} / ${fmt(b.p99)}`,
    delta: "",
    target: "",
    result: "",
  });
  for (const e of s.errors.slice(0, 5)) notes.push(`burst error: ${e}`);
  json[network ? "burstWithNetwork" : "burst"] = {
    n: s.n,
    network,
    errors: s.errors.length,
    seconds: r3(s.seconds),
    perSecond: r3(s.perSecond),
    p50Ms: r3(k.p50),
    p99Ms: r3(k.p99),
    plainSeconds: r3(s.plainSeconds),
    plainPerSecond: r3(s.plainPerSecond),
    plainP50Ms: r3(b.p50),
    plainP99Ms: r3(b.p99),
  };
}

function reportScheduler(f: SchedulerFigures): void {
  rows.push({
    what: `scheduler, ${f.hosts} hosts: placements/s (backlog ${f.backlog})`,
    kumo: `${f.placementsPerSecond}/s`,
    baseline: `store floor ${f.storeFloorPairsPerSecond} RMW pairs/s`,
    delta: "",
    target: "≥ 500/s",
    result: f.placementsPerSecond >= 500 ? "PASS" : "MISS",
  });
  rows.push({
    what: "scheduler decision latency p50 / p99",
    kumo: `${f.decisionP50Ms} / ${f.decisionP99Ms} ms`,
    baseline: `(API registration of ${f.hosts} hosts: ${f.registerSeconds} s)`,
    delta: "",
    target: "",
    result: "",
  });
  json.scheduler = {
    hosts: f.hosts,
    backlog: f.backlog,
    placementsPerSecond: f.placementsPerSecond,
    decisionP50Ms: f.decisionP50Ms,
    decisionP99Ms: f.decisionP99Ms,
    storeFloorPairsPerSecond: f.storeFloorPairsPerSecond,
    livePerSecond: f.livePerSecond,
  };
}

async function cloudPhase(): Promise<void> {
  const targets: Record<string, string> = { containers: "≤ baseline + 50 ms", vms: "≤ baseline + 200 ms", burst: "0 errors" };
  const want = ["containers", "vms", "burst"].filter((s) => only.has(s));
  if (want.length === 0) return;
  const missing = ["runc", "qemu-system-x86_64", "dnsmasq", "busybox", "cpio"].filter((b) => spawnSync("which", [b]).status !== 0);
  if (missing.length) {
    for (const s of want) unmeasured(s, targets[s], `needs ${missing.join(", ")}`);
    return;
  }
  let cloud: Cloud;
  try {
    cloud = await startCloud(2, log);
  } catch (e) {
    for (const s of want) unmeasured(s, targets[s], `the cloud did not start: ${(e as Error).message.split("\n")[0]}`);
    return;
  }
  cleanups.push({ what: "kumo down --purge", run: () => cloud.down() });
  const plain = await PlainRunc.open(join(cloud.home, "images/busybox/busybox-rootfs.tar"));
  cleanups.push({ what: "plain runc", run: () => plain.close() });
  if (only.has("containers")) {
    log(`container series: ${opt.containers} pairs`);
    await containerSeries(cloud, plain, Number(opt.containers)).then(reportContainers, (e: Error) =>
      unmeasured("container create→Running", "≤ baseline + 50 ms", e.message),
    );
  }
  if (only.has("vms")) {
    log(`VM series: ${opt.vms} pairs`);
    try {
      const img = await cloud.client.get<Image>(ImageKind, undefined, "tiny-vm");
      const dir = join(cloud.home, "images/tiny-vm");
      const q = await PlainQemu.open(join(dir, "vmlinux"), join(dir, "initramfs.cpio.gz"), img.spec?.cmdline, Number(opt.vms) + 1);
      cleanups.push({ what: "plain qemu", run: () => q.close() });
      reportVms(await vmSeries(cloud, q, Number(opt.vms)));
    } catch (e) {
      unmeasured("VM create→AddressAssigned", "≤ baseline + 200 ms", (e as Error).message);
    }
  }
  if (only.has("burst")) {
    const n = Number(opt.burst);
    await cloud.client.create(NetworkKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Network",
      metadata: { name: "bburst", namespace: NS },
      spec: {},
    });
    await cloud.client.create(SubnetKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Subnet",
      metadata: { name: "bburst-v4", namespace: NS },
      spec: { network: "bburst", cidr: "10.79.0.0/24" },
    });
    for (const network of [false, true]) {
      log(`burst: ${n} containers at once${network ? " with a network" : ""}`);
      try {
        // 50 millicores each: 50 × the default 250 would not fit 2 hosts of 2 cores (2,000 millicores each).
        const b = await burst(
          cloud,
          plain,
          n,
          { ...CONTAINER, cpu: 50, memoryMiB: 32, networks: network ? [{ network: "bburst" }] : undefined },
          network ? "bn" : "b",
        );
        reportBurst(b, network);
        // Free the capacity for the next burst.
        if (!network) await deleteAndWait(cloud.client, b.names, 120_000);
      } catch (e) {
        unmeasured(`${n} containers at once${network ? " (with network)" : ""}: errors`, "0", (e as Error).message);
      }
    }
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    process.stderr.write("bench/instances needs root (namespaces, runc, QEMU)\n");
    process.exitCode = 2;
    return;
  }
  log(`load average ${load()}`);
  try {
    await cloudPhase();
  } finally {
    log("tearing down the cloud and baselines");
    await cleanupAll();
  }
  if (only.has("scheduler") && !stopping) {
    log(`scheduler bench: ${opt["sched-hosts"]} hosts, backlog ${opt["sched-backlog"]}`);
    await schedulerBench(Number(opt["sched-hosts"]), Number(opt["sched-backlog"]), Number(opt["sched-live"])).then(
      reportScheduler,
      (e: Error) => unmeasured("scheduler placements/s", "≥ 500/s", e.message),
    );
  }
  const seconds = (performance.now() - T0) / 1000;
  Object.assign(json, {
    seconds: r3(seconds),
    loadAfter: load(),
    targets: Object.fromEntries(rows.filter((r) => r.target).map((r) => [r.what, r.result])),
  });
  printReport(
    rows,
    notes,
    `bench/instances: 2 namespace hosts, ${availableParallelism()} CPUs, Node ${process.version}, ${seconds.toFixed(0)} s; ` +
      `load average before ${json.loadBefore}, after ${json.loadAfter}`,
  );
  process.stdout.write(JSON.stringify(json) + "\n");
}

main().catch(async (e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  await cleanupAll();
  process.exitCode = 1;
});
