// Builds the qemu-system-x86_64 command line for a VmRuntimeSpec.
import type { Acceleration, VmRuntimeSpec } from "../types.js";

/** Files of one VM inside its state dir. */
export interface VmPaths {
  dir: string;
  pidFile: string;
  qmpSocket: string;
  serialLog: string;
  /** QEMU's own stderr after daemonizing (kept by -D). */
  qemuLog: string;
  metaFile: string;
}

/** Kernel command line every direct-kernel boot gets: serial console for the log, and a panic
 *  ends QEMU (with -no-reboot) so a dead guest is reported instead of hanging as "running". */
export const BASE_CMDLINE = "console=ttyS0 panic=-1";

/** argv (without the binary) for a daemonized QEMU. */
export function buildQemuArgs(spec: VmRuntimeSpec, paths: VmPaths, accel: Acceleration, kvmCpu = "host"): string[] {
  const a: string[] = [
    "-name",
    `kumo-${spec.id},process=kumo-${spec.id}`,
    "-machine",
    "pc",
    "-accel",
    accel,
    // KVM: the host CPU by default. TCG: QEMU's default model (emulating "max" costs more).
    ...(accel === "kvm" ? ["-cpu", kvmCpu] : []),
    "-m",
    String(spec.memoryMiB),
    "-smp",
    String(Math.max(1, spec.vcpus)),
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-no-reboot",
    "-chardev",
    `file,id=ser0,path=${paths.serialLog},append=on`,
    "-serial",
    "chardev:ser0",
    "-qmp",
    `unix:${paths.qmpSocket},server=on,wait=off`,
  ];
  if (spec.kernel) {
    const extra = [spec.hostname ? `kumo.hostname=${spec.hostname}` : "", spec.cmdline ?? ""].filter(Boolean);
    a.push("-kernel", spec.kernel, "-append", [BASE_CMDLINE, ...extra].join(" "));
    if (spec.initrd) a.push("-initrd", spec.initrd);
  } else if (spec.disk) {
    // snapshot=on: writes go to a temp overlay, the cached image is never modified.
    a.push("-drive", `file=${spec.disk},format=${spec.diskFormat ?? "qcow2"},if=virtio,snapshot=on`);
  } else {
    throw new Error(`vm ${spec.id}: needs a kernel or a disk`);
  }
  (spec.nics ?? []).forEach((n, i) => {
    if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(n.mac)) throw new Error(`vm ${spec.id}: bad mac ${n.mac}`);
    a.push("-netdev", `tap,id=n${i},ifname=${n.tapName},script=no,downscript=no`);
    // romfile= : no iPXE option ROM; nothing netboots and loading it costs boot time under TCG.
    a.push("-device", `virtio-net-pci,netdev=n${i},mac=${n.mac},romfile=`);
  });
  // -daemonize: the parent exits once QEMU is set up (so errors come back synchronously) and the
  // VM runs in its own session, surviving the agent. -D keeps stderr (else /dev/null) in a file.
  a.push("-daemonize", "-pidfile", paths.pidFile, "-D", paths.qemuLog);
  return a;
}
