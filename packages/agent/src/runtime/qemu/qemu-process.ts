// Watching and ending one daemonized QEMU process, identified by pid plus its QMP socket path.
import { stat } from "node:fs/promises";
import { pidAlive, procCmdline } from "@kumo/runtime/proc";
import { waitFor } from "../support.js";
import type { VmPaths } from "./qemu-args.js";
import { qmpOnce } from "./qmp.js";

/** True when pid is a QEMU of this VM: its argv names the VM's QMP socket (a recycled pid does not). */
export async function isOurQemu(pid: number, p: VmPaths): Promise<boolean> {
  const argv = await procCmdline(pid);
  return argv.some((a) => a.includes(p.qmpSocket));
}

/** True once the serial log grows within timeoutMs; false on silence or when QEMU dies first. */
export async function consoleOutputWithin(log: string, pid: number, timeoutMs: number): Promise<boolean> {
  // The log is opened with append=on, so compare with its size at launch.
  const size = () =>
    stat(log).then(
      (s) => s.size,
      () => 0,
    );
  const before = await size();
  const seen = await waitFor(
    async () => {
      if ((await size()) > before) return "output";
      return (await pidAlive(pid)) ? undefined : "died";
    },
    timeoutMs,
    50,
  );
  return seen === "output";
}

/** Ends the QEMU we launched: QMP quit, then SIGKILL to that pid if it is still ours and alive. */
export async function killQemu(p: VmPaths, pid: number): Promise<void> {
  if (!(await pidAlive(pid))) return;
  await qmpOnce(p.qmpSocket, "quit", undefined, 1000).catch(() => undefined); // reply races the close
  if (await waitFor(async () => !(await pidAlive(pid)), 3000, 20)) return;
  if (await isOurQemu(pid, p)) process.kill(pid, "SIGKILL");
  await waitFor(async () => !(await pidAlive(pid)), 3000, 20);
}
