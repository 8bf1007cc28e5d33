// Real QEMU: the tiny-vm image boots under TCG with a tap on a test-made bridge in a test netns
// (no DHCP here: the boot and the wiring are asserted, the lease is the integration test's job),
// QMP status, adoption by a new driver, stop via QMP, KVM fallback, and no tap left behind.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CompositeRuntimeDriver } from "../composite.js";
import { pidAlive, runOk } from "@kumo/runtime/proc";
import { waitFor } from "../support.js";
import { RuncDriver } from "../runc/runc-driver.js";
import { buildImage, createNetns, deleteNetns, skipReason } from "../testing.js";
import type { VmRuntimeSpec } from "../types.js";
import { QemuDriver, type QemuDriverOptions } from "./qemu-driver.js";
import { tapMasters } from "./tap.js";

const skip = skipReason(["qemu-system-x86_64", "ip", "busybox", "cpio", "gzip", "xz"]);
const netns = `kumo-vt${process.pid}`;

describe("QemuDriver (real qemu)", { skip }, () => {
  let tmp = "";
  let img = "";
  let opts: QemuDriverOptions;
  const drivers: QemuDriver[] = [];
  const ids = new Set<string>();

  const driver = (over: Partial<QemuDriverOptions> = {}) => {
    const d = new QemuDriver({ ...opts, ...over });
    drivers.push(d);
    return d;
  };
  const spec = (id: string, over: Partial<VmRuntimeSpec> = {}): VmRuntimeSpec => {
    ids.add(id);
    return {
      // vmlinux (PVH entry) boots ~2x faster under TCG than the bzImage (vmlinuz: measure-start.ts).
      id,
      kind: "vm",
      vcpus: 1,
      memoryMiB: 256,
      kernel: join(img, "vmlinux"),
      initrd: join(img, "initramfs.cpio.gz"),
      netns,
      nics: [{ bridge: "br0", mac: "52:54:00:6b:75:01", tapName: `tap-${id}` }],
      ...over,
    };
  };
  const logHas = (d: QemuDriver, id: string, text: string, ms: number) => waitFor(async () => (await d.logs(id)).includes(text), ms, 50);

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "kumo-qemu-test-"));
    img = join(tmp, "img");
    await buildImage("build-tiny-vm.sh", img);
    await createNetns(netns);
    await runOk("ip", ["-n", netns, "link", "add", "br0", "type", "bridge"]);
    await runOk("ip", ["-n", netns, "link", "set", "br0", "up"]);
    opts = { stateDir: join(tmp, "state"), stopGraceMs: 3000, kvmBootTimeoutMs: 2500 };
  });

  after(async () => {
    // remove() ends only the QEMU whose pid it recorded (QMP quit, then SIGKILL to that pid).
    const d = new QemuDriver(opts);
    for (const id of ids) await d.remove(id).catch((e) => console.error(`cleanup ${id}:`, e));
    await deleteNetns(netns); // also deletes any tap left in it
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("boots tiny-vm under TCG: serial marker, tap on the bridge, QMP running, adopted, stopped", async () => {
    const d = driver();
    const t0 = performance.now();
    const s = await d.ensure(spec("tiny", { accel: "tcg", hostname: "tiny" }));
    assert.deepEqual([s.state, s.acceleration], ["running", "tcg"]);
    assert.ok(s.pid && (await pidAlive(s.pid)));
    for (const k of ["prepare", "tap", "spawn", "qmp", "total"]) assert.equal(typeof s.timings[k], "number", k);
    assert.deepEqual(await tapMasters(netns, ["tap-tiny"]), { "tap-tiny": "br0" });

    assert.ok(await logHas(d, "tiny", "kumo-vm: init", 20_000), "init marker on the serial console");
    const initMs = Math.round(performance.now() - t0);
    assert.ok(await logHas(d, "tiny", "kumo-vm: eth0 up", 10_000), "virtio-net loaded, eth0 up");
    console.log(
      `# vm: ensure ${s.timings.total} ms, init marker after ${initMs} ms, eth0 up after ${Math.round(performance.now() - t0)} ms`,
    );
    assert.equal((await d.qmp<{ status: string }>("tiny", "query-status")).status, "running");

    const fresh = driver();
    const seen = (await fresh.list()).find((x) => x.id === "tiny");
    assert.deepEqual([seen?.state, seen?.pid, seen?.detail, seen?.acceleration], ["running", s.pid, "adopted", "tcg"]);
    assert.equal((await fresh.ensure(spec("tiny", { accel: "tcg" }))).pid, s.pid, "ensure adopts, no second QEMU");

    await fresh.stop("tiny");
    assert.equal(await pidAlive(s.pid), false, "QEMU process ended");
    assert.deepEqual(await tapMasters(netns, ["tap-tiny"]), {}, "tap deleted");
    assert.equal((await fresh.list()).find((x) => x.id === "tiny")?.state, "stopped");
    await fresh.remove("tiny");
    assert.equal(existsSync(fresh.paths("tiny").dir), false);
  });

  it("auto mode falls back to TCG when KVM is unusable and says why", async () => {
    const kvm = existsSync("/dev/kvm");
    // -cpu qemu64 makes PVM take its "guest hangs silently" path instead of QEMU aborting.
    const d = driver({ stateDir: join(tmp, "state-auto"), kvmCpu: "qemu64" });
    const s = await d.ensure(spec("auto"));
    assert.equal(s.state, "running");
    assert.ok(s.accelerationReason, "reason reported");
    if (!kvm) assert.deepEqual([s.acceleration, s.timings.kvmProbe], ["tcg", undefined]);
    else if (s.acceleration === "tcg") assert.match(s.accelerationReason ?? "", /no console output within 2500 ms/);
    assert.ok(await logHas(d, "auto", "kumo-vm: init", 20_000), `boots under ${s.acceleration}`);
    const verdict = d.snapshot().kvm as { usable: boolean } | null;
    if (kvm) assert.equal(verdict?.usable, s.acceleration === "kvm");
    await d.remove("auto");
    assert.equal(await pidAlive(s.pid!), false);
    await assert.rejects(stat(d.paths("auto").dir));
  });

  it("an exited VM is reported, with QEMU's last words, and not restarted under Never", async () => {
    const d = driver();
    const s = await d.ensure(spec("crash", { accel: "tcg", nics: [] }));
    process.kill(s.pid!, "SIGTERM"); // the pid this test's driver started
    const dead = await waitFor(async () => (await d.list()).find((x) => x.id === "crash" && x.state === "exited"), 5000);
    assert.match(dead?.detail ?? "", /terminating on signal 15/);
    assert.equal((await d.ensure(spec("crash", { accel: "tcg", nics: [] }))).state, "exited");
    // Calls by id through the composite reach the VM driver (the runc driver would leave the dir).
    const both = new CompositeRuntimeDriver(new RuncDriver({ stateDir: join(tmp, "no-containers") }), d);
    await both.remove("crash");
    assert.equal(existsSync(d.paths("crash").dir), false);
  });
});
