// Container driver: OCI bundles run by runc (or crun) under a private --root, detached from the
// agent (own session, output to a log file) so containers outlive it and a new agent adopts them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, open, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KeyedLock } from "@kumo/runtime";
import { pidAlive } from "@kumo/runtime/proc";
import { StepTimer, readJson, tailFile, waitFor } from "../support.js";
import {
  assertInstanceId,
  shouldRestart,
  type ContainerRuntimeSpec,
  type InstanceRuntimeSpec,
  type InstanceRuntimeStatus,
  type LogOptions,
  type RuntimeDriver,
  type StepTimings,
} from "../types.js";
import { buildOciConfig } from "./oci-config.js";
import { OciCli, type OciContainerState, type OciRuntimeName } from "./oci-cli.js";
import { mountOverlay, unmountOverlay } from "./rootfs.js";

/** Options of a RuncDriver. */
export interface RuncDriverOptions {
  /** Owns <stateDir>/oci (runtime --root) and <stateDir>/containers/<id> (bundle, overlay, log). */
  stateDir: string;
  runtime?: OciRuntimeName;
  /** Binary path when not on PATH. */
  binary?: string;
  /** cgroup v1 parent under every controller (default "kumo"): cgroups are /<parent>/<id>. */
  cgroupParent?: string;
  /** How long stop() waits after SIGTERM before SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

/** Output of exec(). */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

// Persisted beside the bundle so a restarted agent knows what it started and why it stopped.
interface ContainerMeta {
  spec: ContainerRuntimeSpec;
  startedAt: string | null;
  timings: StepTimings;
  restartCount: number;
  stoppedByRequest: boolean;
}

/** RuntimeDriver for kind "container". */
export class RuncDriver implements RuntimeDriver {
  readonly cli: OciCli;
  private readonly containersDir: string;
  private readonly cgroupParent: string;
  private readonly stopGraceMs: number;
  private readonly lock = new KeyedLock();
  private readonly last = new Map<string, InstanceRuntimeStatus>();
  private readonly owned = new Set<string>(); // started by this driver instance
  private readonly adopted = new Set<string>(); // found running, started by an earlier agent
  private readonly counters = { ensures: 0, starts: 0, adoptions: 0, restarts: 0, failures: 0 };

  constructor(opts: RuncDriverOptions) {
    this.cli = new OciCli(opts.runtime ?? "runc", join(opts.stateDir, "oci"), opts.binary);
    this.containersDir = join(opts.stateDir, "containers");
    this.cgroupParent = (opts.cgroupParent ?? "kumo").replace(/^\/+|\/+$/g, "");
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
  }

  /** Directory holding the bundle, overlay and log of one container. */
  dir(id: string): string {
    return join(this.containersDir, id);
  }

  /** cgroup v1 path (relative to a controller mount) of one container. */
  cgroupPath(id: string): string {
    return `/${this.cgroupParent}/${id}`;
  }

  /** Path of the container's stdout+stderr log. */
  logPath(id: string): string {
    return join(this.dir(id), "console.log");
  }

  async ensure(spec: InstanceRuntimeSpec): Promise<InstanceRuntimeStatus> {
    if (spec.kind !== "container") throw new Error(`runc driver cannot run kind ${spec.kind}`);
    assertInstanceId(spec.id);
    this.counters.ensures++;
    return this.lock.run(spec.id, async () => {
      try {
        return this.remember(await this.ensureLocked(spec));
      } catch (err) {
        this.counters.failures++;
        throw err;
      }
    });
  }

  private async ensureLocked(spec: ContainerRuntimeSpec): Promise<InstanceRuntimeStatus> {
    // Fast path for a new instance: no meta file means nothing to adopt, skip `runc state`.
    const meta = await this.readMeta(spec.id);
    if (!meta) return this.start(spec, 0);
    const st = await this.cli.state(spec.id);
    if (st && (st.status === "running" || st.status === "paused")) return this.toStatus(spec.id, meta, st);
    if (st && st.status === "created") {
      // A previous agent died between create and start: finish its work.
      await this.cli.execOk(["start", spec.id]);
      this.owned.add(spec.id);
      const started = await this.writeStarted(spec.id, meta, meta.timings);
      return this.toStatus(spec.id, started, await this.cli.state(spec.id));
    }
    let restarts = meta.restartCount;
    if (!meta.stoppedByRequest && meta.startedAt) {
      if (!shouldRestart(spec.restartPolicy, null)) return this.toStatus(spec.id, meta, st);
      restarts++;
      this.counters.restarts++;
    }
    if (st) await this.cli.execOk(["delete", "--force", spec.id]);
    return this.start(spec, restarts);
  }

  // create + start: the measured flow (prepare = dirs, overlay, config.json).
  private async start(spec: ContainerRuntimeSpec, restartCount: number): Promise<InstanceRuntimeStatus> {
    const t = new StepTimer();
    const dir = this.dir(spec.id);
    await mkdir(dir, { recursive: true });
    const rootPath = spec.readonlyRootfs ? spec.rootfs : await mountOverlay(spec.rootfs, dir);
    const config = buildOciConfig(spec, {
      rootPath,
      readonly: spec.readonlyRootfs ?? false,
      cgroupsPath: this.cgroupPath(spec.id),
    });
    const meta: ContainerMeta = { spec, startedAt: null, timings: {}, restartCount, stoppedByRequest: false };
    await Promise.all([
      writeFile(join(dir, "config.json"), JSON.stringify(config)),
      writeFile(join(dir, "meta.json"), JSON.stringify(meta)),
    ]);
    t.lap("prepare");

    // The container inherits these fds as stdout/stderr (no terminal): its output goes straight to
    // the file, with no agent-side pump that would die with the agent.
    const log = await open(this.logPath(spec.id), "a");
    let created;
    try {
      created = await this.cli.exec(["create", "--bundle", dir, "--pid-file", join(dir, "pid"), spec.id], {
        stdio: ["ignore", log.fd, log.fd],
        detached: true,
      });
    } finally {
      await log.close();
    }
    if (created.code !== 0) {
      // runc's own error went to the same log: quote its end.
      const tail = (await tailFile(this.logPath(spec.id), 2048)).trim().split("\n").slice(-3).join(" | ");
      throw new Error(`${this.cli.runtime} create ${spec.id} failed (exit ${created.code}): ${tail}`);
    }
    t.lap("create");
    await this.cli.execOk(["start", spec.id]);
    t.lap("start");
    const started = await this.writeStarted(spec.id, meta, t.done());
    this.counters.starts++;
    this.owned.add(spec.id);
    const pid = Number((await readFile(join(dir, "pid"), "utf8")).trim());
    return this.toStatus(spec.id, started, { id: spec.id, pid, status: "running", bundle: dir, created: "" });
  }

  private async writeStarted(id: string, meta: ContainerMeta, timings: StepTimings): Promise<ContainerMeta> {
    const next = { ...meta, startedAt: new Date().toISOString(), timings, stoppedByRequest: false };
    await writeFile(join(this.dir(id), "meta.json"), JSON.stringify(next));
    return next;
  }

  async stop(id: string): Promise<void> {
    assertInstanceId(id);
    await this.lock.run(id, async () => {
      const meta = await this.readMeta(id);
      if (!meta) throw new Error(`container ${id} not found`);
      const st = await this.cli.state(id);
      if (st && st.status !== "stopped") {
        await this.cli.exec(["kill", id, "TERM"]);
        // PID 1 of a container ignores SIGTERM unless it installs a handler (busybox sh does not).
        const gone = await waitFor(async () => !(await pidAlive(st.pid)), this.stopGraceMs, 25);
        if (!gone) {
          await this.cli.exec(["kill", id, "KILL"]);
          await waitFor(async () => !(await pidAlive(st.pid)), 5000, 10);
        }
      }
      meta.stoppedByRequest = true;
      await writeFile(join(this.dir(id), "meta.json"), JSON.stringify(meta));
      this.remember(await this.toStatus(id, meta, await this.cli.state(id)));
    });
  }

  async remove(id: string): Promise<void> {
    assertInstanceId(id);
    await this.lock.run(id, async () => {
      const r = await this.cli.exec(["delete", "--force", id]);
      if (r.code !== 0 && !/does not exist|not found|No such file/i.test(r.stderr)) {
        throw new Error(`${this.cli.runtime} delete ${id}: ${r.stderr.trim()}`);
      }
      await unmountOverlay(this.dir(id));
      await rm(this.dir(id), { recursive: true, force: true });
      this.last.delete(id);
      this.owned.delete(id);
      this.adopted.delete(id);
    });
  }

  async list(): Promise<InstanceRuntimeStatus[]> {
    const [states, ids] = await Promise.all([this.cli.list(), this.listIds()]);
    const byId = new Map(states.map((s) => [s.id, s]));
    const out: InstanceRuntimeStatus[] = [];
    for (const id of ids) {
      const meta = await this.readMeta(id);
      if (meta) out.push(this.remember(await this.toStatus(id, meta, byId.get(id) ?? null)));
    }
    return out;
  }

  async logs(id: string, opts: LogOptions = {}): Promise<string> {
    assertInstanceId(id);
    return tailFile(this.logPath(id), opts.tailBytes);
  }

  /** Runs cmd inside the running container (`kumo exec`) and collects its output. */
  async exec(id: string, cmd: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    assertInstanceId(id);
    if (cmd.length === 0) throw new Error("exec: empty command");
    const r = await this.cli.exec(["exec", id, ...cmd], { input: opts.input, timeoutMs: opts.timeoutMs });
    return { exitCode: r.code, stdout: r.stdout, stderr: r.stderr };
  }

  /** Starts cmd inside the container with piped stdio, for streaming `kumo exec`. */
  execStream(id: string, cmd: string[]): ChildProcess {
    assertInstanceId(id);
    const [bin, args] = this.cli.argv(["exec", id, ...cmd]);
    return spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"] });
  }

  snapshot(): Record<string, unknown> {
    return {
      driver: this.cli.runtime,
      root: this.cli.root,
      cgroupParent: this.cgroupParent,
      counters: { ...this.counters },
      instances: Object.fromEntries(this.last),
    };
  }

  private async toStatus(id: string, meta: ContainerMeta, st: OciContainerState | null): Promise<InstanceRuntimeStatus> {
    const base = {
      id,
      kind: "container" as const,
      exitCode: null,
      startedAt: meta.startedAt,
      restartCount: meta.restartCount,
      timings: meta.timings,
    };
    if (st && (st.status === "running" || st.status === "paused")) {
      return { ...base, state: "running", pid: st.pid, detail: st.status === "paused" ? "paused" : undefined };
    }
    if (st && (st.status === "created" || st.status === "creating")) return { ...base, state: "creating", pid: st.pid || null };
    if (meta.stoppedByRequest) return { ...base, state: "stopped", pid: null };
    if (!meta.startedAt) return { ...base, state: "unknown", pid: null, detail: "never started" };
    return { ...base, state: "exited", pid: null, detail: (await this.oomKilled(id)) ? "oom-killed" : undefined };
  }

  // cgroup v1 keeps the memory cgroup until `runc delete`, so an OOM kill is still visible here.
  private async oomKilled(id: string): Promise<boolean> {
    try {
      const s = await readFile(`/sys/fs/cgroup/memory${this.cgroupPath(id)}/memory.oom_control`, "utf8");
      return /oom_kill [1-9]/.test(s);
    } catch {
      return false; // cgroup gone, or a host without cgroup v1 memory: not known to be OOM
    }
  }

  // Records the latest status; a running container this process did not start was adopted.
  private remember(s: InstanceRuntimeStatus): InstanceRuntimeStatus {
    if (s.state === "running" && !this.owned.has(s.id)) {
      if (!this.adopted.has(s.id)) this.counters.adoptions++;
      this.adopted.add(s.id);
      s.detail ??= "adopted";
    }
    this.last.set(s.id, s);
    return s;
  }

  private async readMeta(id: string): Promise<ContainerMeta | null> {
    return readJson<ContainerMeta>(join(this.dir(id), "meta.json"));
  }

  private async listIds(): Promise<string[]> {
    try {
      return (await readdir(this.containersDir)).sort();
    } catch {
      return [];
    }
  }
}
