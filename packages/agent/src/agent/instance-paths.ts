/**
 * Where an agent keeps its instances under its --state-dir, in one place: the agent builds its drivers
 * from these, and `kumo exec` (same machine) finds a lab host's runc root through lab/lab-container.ts.
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
