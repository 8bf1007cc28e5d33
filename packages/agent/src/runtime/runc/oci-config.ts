// Generates an OCI runtime config (what `runc spec` writes) for a ContainerRuntimeSpec, in TS so the
// agent does not need to exec `runc spec` and patch JSON on every start.
import type { ContainerRuntimeSpec } from "../types.js";

/** Where the bundle's root filesystem lives and whether it is mounted read-only. */
export interface OciRootOptions {
  rootPath: string;
  readonly: boolean;
  /** cgroup v1 path relative to each controller's mount, e.g. "/kumo/web-1". */
  cgroupsPath: string;
}

/** CFS period used to turn millicores into a quota (the kernel default, 100 ms). */
export const CPU_PERIOD_US = 100_000;

// runc's defaults plus CAP_NET_RAW, so `ping` works inside the container (instances ping each
// other across the overlay in the acceptance checks).
const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW"];
const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Builds the config.json object for spec. */
export function buildOciConfig(spec: ContainerRuntimeSpec, root: OciRootOptions): Record<string, unknown> {
  const args = [...spec.command, ...(spec.args ?? [])];
  if (args.length === 0) throw new Error(`container ${spec.id}: command is empty`);
  const env = Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`);
  if (!env.some((e) => e.startsWith("PATH="))) env.unshift(DEFAULT_PATH);

  const namespaces: Record<string, string>[] = [
    { type: "pid" },
    spec.netnsPath ? { type: "network", path: spec.netnsPath } : { type: "network" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
  ];

  const mounts: Record<string, unknown>[] = [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
  ];
  // A read-only root still needs somewhere to write scratch files.
  if (root.readonly) {
    mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777", "size=65536k"] });
  }
  for (const m of spec.mounts ?? []) {
    mounts.push({
      destination: m.destination,
      type: "bind",
      source: m.source,
      options: ["rbind", "nosuid", "nodev", m.readonly ? "ro" : "rw"],
    });
  }

  const memBytes = Math.floor(spec.memoryMiB * 1024 * 1024);
  const resources: Record<string, unknown> = {
    devices: [{ allow: false, access: "rwm" }],
    // swap = memory so the limit is a real limit (no silent swapping past it).
    memory: { limit: memBytes, swap: memBytes },
    pids: { limit: spec.pidsLimit ?? 1024 },
  };
  if (spec.cpuMillicores !== undefined) {
    resources.cpu = {
      quota: Math.max(1000, Math.round((spec.cpuMillicores * CPU_PERIOD_US) / 1000)),
      period: CPU_PERIOD_US,
      shares: Math.max(2, Math.round((spec.cpuMillicores * 1024) / 1000)),
    };
  }

  return {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args,
      env,
      cwd: spec.workingDir ?? "/",
      capabilities: { bounding: CAPS, effective: CAPS, permitted: CAPS, ambient: CAPS },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: root.rootPath, readonly: root.readonly },
    hostname: (spec.hostname ?? spec.id).slice(0, 63),
    mounts,
    linux: {
      cgroupsPath: root.cgroupsPath,
      resources,
      namespaces,
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
      ],
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
    },
  };
}
