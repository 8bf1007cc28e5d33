/**
 * Where an agent keeps its instances under its --state-dir, in one place: the agent builds its drivers
 * from these, and the CLI (same machine) reads logs and runs `runc exec` through them when it cannot or
 * should not go through the agent.
 */
import { join } from "node:path";

/** Root of the runtime drivers' state (runc: oci/ + containers/, QEMU: vms/). */
export function runtimeDir(stateDir: string): string {
  return join(stateDir, "runtime");
}

/** runc's --root for the agent's containers. */
export function ociRoot(stateDir: string): string {
  return join(runtimeDir(stateDir), "oci");
}

/** stdout+stderr of a container, or the serial console of a VM. */
export function instanceLogPath(stateDir: string, kind: "container" | "vm", id: string): string {
  return kind === "vm" ? join(runtimeDir(stateDir), "vms", id, "serial.log") : join(runtimeDir(stateDir), "containers", id, "console.log");
}
