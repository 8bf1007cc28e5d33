// Start-latency figures for the runtime drivers, each beside its baseline measured in the same run:
//   container: RuncDriver.ensure() (overlay + config + create + start) vs plain `runc create` +
//   `runc start` of an equivalent bundle; VM: ensure() and time to the tiny-vm init marker.
// Usage (root): node packages/agent/dist/runtime/measure-start.js ROOTFS_DIR [N] [runc|crun]
//               node packages/agent/dist/runtime/measure-start.js --vm IMAGE_DIR [N] [vmlinuz|vmlinux]
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "@kumo/runtime/proc";
import { waitFor } from "./support.js";
import { QemuDriver } from "./qemu/qemu-driver.js";
import { buildOciConfig } from "./runc/oci-config.js";
import { OciCli, type OciRuntimeName } from "./runc/oci-cli.js";
import { RuncDriver } from "./runc/runc-driver.js";
import type { ContainerRuntimeSpec } from "./types.js";

/** p50/p99/min/max of samples in ms. */
export function summarize(samples: number[]): { p50: number; p99: number; min: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)] ?? NaN;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { p50: r(q(0.5)), p99: r(q(0.99)), min: r(s[0] ?? NaN), max: r(s[s.length - 1] ?? NaN), n: s.length };
}

async function containers(rootfs: string, n: number, runtime: OciRuntimeName): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "kumo-measure-"));
  const cgroupParent = `kumo-measure-${process.pid}`;
  const driver = new RuncDriver({ stateDir: join(tmp, "driver"), runtime, cgroupParent, stopGraceMs: 0 });
  const plain = new OciCli(runtime, join(tmp, "plain-root"));
  const bundle = join(tmp, "bundle");
  const spec = (id: string): ContainerRuntimeSpec => ({ id, kind: "container", rootfs, memoryMiB: 64, command: ["sleep", "1000"] });
  await mkdir(bundle, { recursive: true });
  await writeFile(
    join(bundle, "config.json"),
    JSON.stringify(
      buildOciConfig(spec("plain"), {
        rootPath: rootfs,
        readonly: true,
        cgroupsPath: `/${cgroupParent}/plain`,
      }),
    ),
  );
  const viaDriver: number[] = [];
  const viaPlain: number[] = [];
  const steps: Record<string, number[]> = {};
  try {
    for (let i = 0; i < n; i++) {
      // Interleaved, so load from other processes hits both series alike.
      let t = performance.now();
      await plain.execOk(["create", "--bundle", bundle, "plain"], { stdio: ["ignore", "ignore", "ignore"], detached: true });
      await plain.execOk(["start", "plain"]);
      viaPlain.push(performance.now() - t);
      await plain.execOk(["delete", "--force", "plain"]);
      t = performance.now();
      const st = await driver.ensure(spec(`c${i}`));
      viaDriver.push(performance.now() - t);
      for (const [k, v] of Object.entries(st.timings)) (steps[k] ??= []).push(v);
      await driver.remove(`c${i}`);
    }
  } finally {
    await plain.exec(["delete", "--force", "plain"]);
    for (let i = 0; i < n; i++) await driver.remove(`c${i}`).catch(() => undefined);
    for (const c of ["memory", "cpu", "pids", "cpuset", "devices", "freezer", "blkio", "cpuacct", "systemd", "unified"]) {
      await run("rmdir", [`/sys/fs/cgroup/${c}/${cgroupParent}`]);
    }
    await rm(tmp, { recursive: true, force: true });
  }
  const stepP50 = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, summarize(v).p50]));
  console.log(
    JSON.stringify({ runtime, driverEnsureMs: summarize(viaDriver), plainCreateStartMs: summarize(viaPlain), driverStepP50Ms: stepP50 }),
  );
}

async function vms(imageDir: string, n: number, kernel: string): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), "kumo-measure-"));
  const driver = new QemuDriver({ stateDir: tmp, stopGraceMs: 0 });
  const ensureMs: number[] = [];
  const markerMs: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await driver.ensure({
        id: "m",
        kind: "vm",
        vcpus: 1,
        memoryMiB: 256,
        accel: "tcg",
        kernel: join(imageDir, kernel),
        initrd: join(imageDir, "initramfs.cpio.gz"),
      });
      ensureMs.push(performance.now() - t);
      const ok = await waitFor(async () => (await driver.logs("m")).includes("kumo-vm: init"), 60_000, 20);
      if (!ok) throw new Error("no init marker within 60 s");
      markerMs.push(performance.now() - t);
      await driver.remove("m");
    }
  } finally {
    await driver.remove("m").catch(() => undefined);
    await rm(tmp, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ kernel, accel: "tcg", ensureMs: summarize(ensureMs), toInitMarkerMs: summarize(markerMs) }));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() ?? "")) {
  const [a, b, c, d] = process.argv.slice(2);
  if (a === "--vm" && b) await vms(b, Number(c ?? 3), d ?? "vmlinuz");
  else if (a && a !== "--vm") await containers(a, Number(b ?? 30), (c ?? "runc") as OciRuntimeName);
  else {
    console.error("usage: measure-start.js ROOTFS_DIR [N] [runc|crun] | --vm IMAGE_DIR [N] [vmlinuz|vmlinux]");
    process.exitCode = 2;
  }
}
