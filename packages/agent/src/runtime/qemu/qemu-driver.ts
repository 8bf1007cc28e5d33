// VM driver: daemonized QEMU per instance (survives the agent), serial console to a log, QMP for
// status and shutdown, taps on existing bridges, KVM when it works and TCG when it does not.
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KeyedLock } from "@kumo/runtime";
import { pidAlive, run } from "@kumo/runtime/proc";
import { StepTimer, readJson, tailFile, waitFor } from "../support.js";
import {
  assertInstanceId,
  shouldRestart,
  type Acceleration,
  type InstanceRuntimeSpec,
  type InstanceRuntimeStatus,
  type LogOptions,
  type RuntimeDriver,
  type StepTimings,
  type VmRuntimeSpec,
} from "../types.js";
import { AccelChooser } from "./accel.js";
import { buildQemuArgs, type VmPaths } from "./qemu-args.js";
import { consoleOutputWithin, isOurQemu, killQemu } from "./qemu-process.js";
import { qmpOnce } from "./qmp.js";
import { createTaps, deleteTaps } from "./tap.js";

/** Options of a QemuDriver. */
export interface QemuDriverOptions {
  /** Owns <stateDir>/vms/<id> (pid, QMP socket, serial log, meta) and the KVM verdict file. */
  stateDir: string;
  qemuBinary?: string;
  /** Wait after system_powerdown before QMP quit (default 10 s; busybox guests ignore ACPI). */
  stopGraceMs?: number;
  /** "auto" mode: a KVM guest silent on serial this long counts as hung (default 4 s). */
  kvmBootTimeoutMs?: number;
  kvmDevice?: string;
  /** -cpu under KVM (default "host"; TCG always uses QEMU's default model). */
  kvmCpu?: string;
}

// Persisted per VM so a restarted agent can adopt it and explain how it runs.
interface VmMeta {
  spec: VmRuntimeSpec;
  pid: number | null;
  startedAt: string | null;
  acceleration: Acceleration | null;
  accelerationReason: string;
  timings: StepTimings;
  restartCount: number;
  stoppedByRequest: boolean;
}

/** RuntimeDriver for kind "vm". */
export class QemuDriver implements RuntimeDriver {
  private readonly vmsDir: string;
  private readonly qemu: string;
  private readonly stopGraceMs: number;
  private readonly kvmBootTimeoutMs: number;
  private readonly kvmCpu: string;
  private readonly accel: AccelChooser;
  private readonly lock = new KeyedLock();
  private readonly last = new Map<string, InstanceRuntimeStatus>();
  private readonly owned = new Set<string>();
  private readonly counters = { ensures: 0, starts: 0, adoptions: 0, restarts: 0, failures: 0, kvmFallbacks: 0 };

  constructor(opts: QemuDriverOptions) {
    this.vmsDir = join(opts.stateDir, "vms");
    this.qemu = opts.qemuBinary ?? "qemu-system-x86_64";
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.kvmBootTimeoutMs = opts.kvmBootTimeoutMs ?? 4000;
    this.kvmCpu = opts.kvmCpu ?? "host";
    this.accel = new AccelChooser(join(opts.stateDir, "kvm-verdict.json"), opts.kvmDevice);
  }

  /** File locations of one VM. */
  paths(id: string): VmPaths {
    const dir = join(this.vmsDir, id);
    const p = {
      dir,
      pidFile: join(dir, "qemu.pid"),
      qmpSocket: join(dir, "qmp.sock"),
      serialLog: join(dir, "serial.log"),
      qemuLog: join(dir, "qemu.log"),
      metaFile: join(dir, "meta.json"),
    };
    // sun_path holds 108 bytes: fail clearly instead of QEMU's "path too long".
    if (Buffer.byteLength(p.qmpSocket) > 107) throw new Error(`QMP socket path too long: ${p.qmpSocket}`);
    return p;
  }

  async ensure(spec: InstanceRuntimeSpec): Promise<InstanceRuntimeStatus> {
    if (spec.kind !== "vm") throw new Error(`qemu driver cannot run kind ${spec.kind}`);
    assertInstanceId(spec.id);
    this.counters.ensures++;
    return this.lock.run(spec.id, async () => {
      try {
        const meta = await readJson<VmMeta>(this.paths(spec.id).metaFile);
        if (meta && (await this.alive(spec.id, meta))) return this.remember(await this.toStatus(spec.id, meta));
        let restarts = meta?.restartCount ?? 0;
        if (meta && !meta.stoppedByRequest && meta.startedAt) {
          if (!shouldRestart(spec.restartPolicy, null)) return this.remember(await this.toStatus(spec.id, meta));
          restarts++;
          this.counters.restarts++;
        }
        return this.remember(await this.start(spec, restarts));
      } catch (err) {
        this.counters.failures++;
        throw err;
      }
    });
  }

  private async start(spec: VmRuntimeSpec, restartCount: number): Promise<InstanceRuntimeStatus> {
    const t = new StepTimer();
    const p = this.paths(spec.id);
    await mkdir(p.dir, { recursive: true });
    await Promise.all([rm(p.qmpSocket, { force: true }), rm(p.pidFile, { force: true })]);
    const meta: VmMeta = {
      spec,
      pid: null,
      startedAt: null,
      acceleration: null,
      accelerationReason: "",
      timings: {},
      restartCount,
      stoppedByRequest: false,
    };
    await writeFile(p.metaFile, JSON.stringify(meta));
    t.lap("prepare");
    await createTaps(spec.netns, spec.nics ?? []);
    t.lap("tap");
    try {
      const choice = await this.accel.choose(spec.accel);
      let accel = choice.accel;
      let reason = choice.reason;
      let pid: number | null = null;
      let failure = "";
      try {
        pid = await this.launch(spec, p, accel);
      } catch (err) {
        if (!choice.probe) throw err;
        // e.g. -cpu host aborting on PVM (MSR 0x10a): fall back at once, keep QEMU's words.
        failure = (err as Error).message.replace(/^qemu for \S+ failed /, "");
      }
      t.lap("spawn");
      if (choice.probe) {
        if (pid !== null && (await consoleOutputWithin(p.serialLog, pid, this.kvmBootTimeoutMs))) {
          reason = "kvm: guest console output seen";
          await this.accel.record(true, reason);
        } else {
          reason = failure
            ? `kvm unusable (${failure}); using tcg`
            : `kvm unusable: no console output within ${this.kvmBootTimeoutMs} ms (guest hung); using tcg`;
          // Only a direct-kernel boot (console=ttyS0 is ours) proves a hang: a disk image may just
          // be quiet on serial (e.g. a bootloader menu), so it falls back without a host verdict.
          if (spec.kernel || failure) await this.accel.record(false, reason);
          this.counters.kvmFallbacks++;
          if (pid !== null) await killQemu(p, pid);
          accel = "tcg";
          pid = await this.launch(spec, p, accel);
        }
        t.lap("kvmProbe");
      }
      const st = await qmpOnce<{ status: string }>(p.qmpSocket, "query-status");
      if (st.status !== "running") throw new Error(`vm ${spec.id}: QEMU reports ${st.status} after start`);
      t.lap("qmp");
      Object.assign(meta, { pid, acceleration: accel, accelerationReason: reason, startedAt: new Date().toISOString(), timings: t.done() });
      await writeFile(p.metaFile, JSON.stringify(meta));
      this.counters.starts++;
      this.owned.add(spec.id);
      return this.toStatus(spec.id, meta, true);
    } catch (err) {
      // No half-started VM: its tap would stay on the bridge and the next ensure would trip on it.
      const pid = await this.readPid(p);
      if (pid && (await isOurQemu(pid, p))) await killQemu(p, pid);
      await deleteTaps(spec.netns, spec.nics ?? []);
      throw err;
    }
  }

  // Runs QEMU (inside the host netns if any) and returns the daemon's pid.
  private async launch(spec: VmRuntimeSpec, p: VmPaths, accel: Acceleration): Promise<number> {
    await Promise.all([rm(p.qmpSocket, { force: true }), rm(p.qemuLog, { force: true })]);
    const args = buildQemuArgs(spec, p, accel, this.kvmCpu);
    const [bin, argv] = spec.netns ? ["ip", ["netns", "exec", spec.netns, this.qemu, ...args]] : [this.qemu, args];
    const r = await run(bin, argv, { timeoutMs: 30_000 });
    if (r.code !== 0) {
      // With -D, QEMU's own errors land in qemu.log rather than on the launcher's stderr.
      const log = (await tailFile(p.qemuLog, 1024)).trim().split("\n").slice(-2).join(" | ");
      throw new Error(`qemu for ${spec.id} failed (exit ${r.code}): ${[r.stderr.trim(), log].filter(Boolean).join(" | ")}`);
    }
    const pid = await this.readPid(p);
    if (!pid) throw new Error(`qemu for ${spec.id} wrote no pid file`);
    return pid;
  }

  async stop(id: string): Promise<void> {
    assertInstanceId(id);
    await this.lock.run(id, () => this.stopLocked(id, this.stopGraceMs));
  }

  private async stopLocked(id: string, graceMs: number): Promise<void> {
    const p = this.paths(id);
    const meta = await readJson<VmMeta>(p.metaFile);
    if (!meta) throw new Error(`vm ${id} not found`);
    if (meta.pid && (await this.alive(id, meta))) {
      // Repeat the ACPI button press: one sent before the guest's acpid runs is simply lost.
      const deadline = Date.now() + graceMs;
      while (Date.now() < deadline && (await pidAlive(meta.pid))) {
        await qmpOnce(p.qmpSocket, "system_powerdown", undefined, 1000).catch(() => undefined);
        await waitFor(async () => !(await pidAlive(meta.pid!)), Math.min(1000, deadline - Date.now()), 50);
      }
      await killQemu(p, meta.pid);
    }
    await deleteTaps(meta.spec.netns, meta.spec.nics ?? []);
    meta.stoppedByRequest = true;
    await writeFile(p.metaFile, JSON.stringify(meta));
    this.remember(await this.toStatus(id, meta, false));
  }

  async remove(id: string): Promise<void> {
    assertInstanceId(id);
    await this.lock.run(id, async () => {
      const p = this.paths(id);
      if (await readJson<VmMeta>(p.metaFile)) await this.stopLocked(id, 0);
      await rm(p.dir, { recursive: true, force: true });
      this.last.delete(id);
      this.owned.delete(id);
    });
  }

  async list(): Promise<InstanceRuntimeStatus[]> {
    const ids = await readdir(this.vmsDir).catch(() => [] as string[]);
    const out: InstanceRuntimeStatus[] = [];
    for (const id of ids.sort()) {
      const meta = await readJson<VmMeta>(this.paths(id).metaFile);
      if (meta) out.push(this.remember(await this.toStatus(id, meta)));
    }
    return out;
  }

  async logs(id: string, opts: LogOptions = {}): Promise<string> {
    assertInstanceId(id);
    return tailFile(this.paths(id).serialLog, opts.tailBytes);
  }

  /** Runs a QMP command on a running VM (e.g. query-status, stop, cont). */
  async qmp<T = unknown>(id: string, command: string, args?: Record<string, unknown>): Promise<T> {
    assertInstanceId(id);
    return qmpOnce<T>(this.paths(id).qmpSocket, command, args);
  }

  snapshot(): Record<string, unknown> {
    return {
      driver: "qemu",
      vmsDir: this.vmsDir,
      kvm: this.accel.current(),
      counters: { ...this.counters },
      instances: Object.fromEntries(this.last),
    };
  }

  private async toStatus(id: string, meta: VmMeta, knownAlive?: boolean): Promise<InstanceRuntimeStatus> {
    const base = {
      id,
      kind: "vm" as const,
      exitCode: null,
      startedAt: meta.startedAt,
      restartCount: meta.restartCount,
      timings: meta.timings,
      acceleration: meta.acceleration ?? undefined,
      accelerationReason: meta.accelerationReason || undefined,
    };
    const alive = knownAlive ?? (await this.alive(id, meta));
    if (alive) {
      const adopted = this.owned.has(id) ? undefined : "adopted";
      try {
        const st = await qmpOnce<{ status: string }>(this.paths(id).qmpSocket, "query-status", undefined, 1000);
        return { ...base, state: "running", pid: meta.pid, detail: st.status === "running" ? adopted : `qmp: ${st.status}` };
      } catch (err) {
        return { ...base, state: "unknown", pid: meta.pid, detail: `qmp unreachable: ${(err as Error).message}` };
      }
    }
    if (meta.stoppedByRequest) return { ...base, state: "stopped", pid: null };
    if (!meta.startedAt) return { ...base, state: "unknown", pid: null, detail: "never started" };
    // QEMU's last words (e.g. "terminating on signal 15") say why it ended.
    const why = (await tailFile(this.paths(id).qemuLog, 512)).trim().split("\n").pop();
    return { ...base, state: "exited", pid: null, detail: why || undefined };
  }

  // Alive = the recorded pid runs and is our QEMU (its argv names this VM's QMP socket): a
  // recycled pid must not be mistaken for the VM.
  private async alive(id: string, meta: VmMeta): Promise<boolean> {
    return meta.pid !== null && (await pidAlive(meta.pid)) && (await isOurQemu(meta.pid, this.paths(id)));
  }

  private async readPid(p: VmPaths): Promise<number | null> {
    const n = Number((await tailFile(p.pidFile, 64)).trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  }

  private remember(s: InstanceRuntimeStatus): InstanceRuntimeStatus {
    if (s.state === "running" && !this.owned.has(s.id) && !this.last.has(s.id)) this.counters.adoptions++;
    this.last.set(s.id, s);
    return s;
  }
}
