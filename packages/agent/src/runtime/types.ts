// Plain data contracts between the agent and its compute runtime drivers (runc, QEMU).
// Drivers take these spec objects, never API resources, so they stay independent of the API server.

/** Instance kind handled by a runtime driver. */
export type InstanceKind = "container" | "vm";

/** What the driver does when an instance's process ends without a stop() call. */
export type RestartPolicy = "Always" | "OnFailure" | "Never";

/** Lifecycle state as seen by the driver (stopped = by stop(); exited = ended on its own). */
export type RuntimeState = "creating" | "running" | "stopped" | "exited" | "unknown";

/** CPU virtualisation used by a VM: hardware KVM or QEMU's TCG emulation. */
export type Acceleration = "kvm" | "tcg";

/** Milliseconds per step of the last start flow, e.g. { prepare, create, start, total }. */
export type StepTimings = Record<string, number>;

/** Fields shared by every instance spec. */
export interface BaseRuntimeSpec {
  /** Instance id: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}; names state dirs, cgroups and QEMU processes. */
  id: string;
  kind: InstanceKind;
  /** Memory limit (containers: cgroup memory.limit; VMs: guest RAM). */
  memoryMiB: number;
  /** Default "Never": ensure() reports an exited instance instead of restarting it. */
  restartPolicy?: RestartPolicy;
}

/** Extra bind mount into a container (e.g. a generated resolv.conf). */
export interface ContainerMount {
  source: string;
  destination: string;
  readonly?: boolean;
}

/** A container run by runc from an unpacked rootfs directory. */
export interface ContainerRuntimeSpec extends BaseRuntimeSpec {
  kind: "container";
  /** Unpacked image rootfs; used read-only as the lower layer of a per-instance overlay. */
  rootfs: string;
  /** CPU limit in millicores (1000 = one core) through the CFS quota; unlimited when absent. */
  cpuMillicores?: number;
  /** pids.max for the container's cgroup (default 1024). */
  pidsLimit?: number;
  /** Process to run: command ++ args. */
  command: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  /** Existing network namespace to join (e.g. /run/netns/port-x); a fresh empty one when absent. */
  netnsPath?: string;
  hostname?: string;
  /** Run on the image rootfs directly, read-only (no overlay; /tmp is a tmpfs). */
  readonlyRootfs?: boolean;
  mounts?: ContainerMount[];
}

/** One VM network interface: a tap the driver creates and attaches to an existing bridge. */
export interface VmNicSpec {
  bridge: string;
  mac: string;
  /** Tap device name, at most 15 characters. */
  tapName: string;
  /** Optional MTU for the tap (match the bridge when it is below 1500, e.g. on an overlay). */
  mtu?: number;
}

/** A VM run by QEMU, booted from kernel (+initrd) or from a disk image. */
export interface VmRuntimeSpec extends BaseRuntimeSpec {
  kind: "vm";
  vcpus: number;
  /** Kernel to boot directly: a bzImage or an uncompressed PVH vmlinux (much faster under TCG). */
  kernel?: string;
  initrd?: string;
  /** Appended to the driver's "console=ttyS0 panic=-1" (the serial log needs the console). */
  cmdline?: string;
  /** Disk image booted by the firmware when no kernel is given; never written (snapshot=on). */
  disk?: string;
  diskFormat?: "qcow2" | "raw";
  /** Host network namespace (name under /run/netns) holding the bridges; taps and QEMU live there. */
  netns?: string;
  nics?: VmNicSpec[];
  /** "auto" (default) tries KVM and falls back to TCG when KVM is missing or the guest hangs. */
  accel?: "auto" | Acceleration;
  /** Passed to the guest as kumo.hostname=... (the tiny-vm init sets it). */
  hostname?: string;
}

/** Everything a runtime driver can run. */
export type InstanceRuntimeSpec = ContainerRuntimeSpec | VmRuntimeSpec;

/** What the driver observes about one instance. */
export interface InstanceRuntimeStatus {
  id: string;
  kind: InstanceKind;
  state: RuntimeState;
  pid: number | null;
  /** ISO time of the last successful start. */
  startedAt: string | null;
  /** Exit status when the driver can know it (runc and daemonized QEMU do not report it: null). */
  exitCode: number | null;
  /** VMs only: how the guest CPU is virtualised, and why (e.g. the KVM fallback reason). */
  acceleration?: Acceleration;
  accelerationReason?: string;
  /** Restarts done by ensure() because of the restart policy. */
  restartCount: number;
  /** Extra facts: "oom-killed", "qmp: paused", "adopted", ... */
  detail?: string;
  /** Step timings (ms) of the last start flow. */
  timings: StepTimings;
}

/** Options for logs(). */
export interface LogOptions {
  /** Return at most the last N bytes (default 1 MiB). */
  tailBytes?: number;
}

/** A compute runtime driver: idempotent, adopts instances left running by a previous agent. */
export interface RuntimeDriver {
  /** Make the instance run (create, start, adopt or restart per policy); returns its status. */
  ensure(spec: InstanceRuntimeSpec): Promise<InstanceRuntimeStatus>;
  /** Stop gracefully, then forcibly after the driver's grace period; keeps state and logs. */
  stop(id: string): Promise<void>;
  /** Stop if needed and delete every trace (runtime state, cgroups, mounts, taps, logs). */
  remove(id: string): Promise<void>;
  /** All instances this driver knows from its state dir, running or not. */
  list(): Promise<InstanceRuntimeStatus[]>;
  /** Console output (VMs) or stdout+stderr (containers). */
  logs(id: string, opts?: LogOptions): Promise<string>;
  /** JSON-serialisable view of the driver's in-memory state for /debug/state. */
  snapshot(): Record<string, unknown>;
}

/** The runtime a host agent holds: both kinds behind one driver (CompositeRuntimeDriver; fakes in tests). */
export interface HostRuntimeDriver extends RuntimeDriver {
  /** The file logs() reads for `id` (a VM's serial console, a container's stdout+stderr), to follow it as it grows. */
  logFile(id: string, kind: InstanceKind): string;
}

/** Valid instance ids: safe as file names, cgroup names and QEMU -name values. */
export const INSTANCE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** Throws unless id is a valid instance id. */
export function assertInstanceId(id: string): void {
  if (!INSTANCE_ID_RE.test(id)) throw new Error(`invalid instance id ${JSON.stringify(id)}`);
}

/** True when an instance that exited on its own should be started again under policy. */
export function shouldRestart(policy: RestartPolicy | undefined, exitCode: number | null): boolean {
  if (policy === "Always") return true;
  // An unknown exit status counts as a failure: restarting is the safer guess.
  if (policy === "OnFailure") return exitCode !== 0;
  return false;
}
