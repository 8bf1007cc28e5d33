// Helpers for the runtime drivers' tests (real runc/QEMU): skip conditions, test-owned network
// namespaces and the image builds from scripts/images.
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { run, runOk } from "@kumo/runtime/proc";

/** Repository root (this file is packages/agent/{src,dist}/runtime/testing.*). */
export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));

/** True when name resolves to an executable on PATH (or is an executable path). */
export function hasBinary(name: string): boolean {
  const dirs = name.includes("/") ? [""] : (process.env.PATH ?? "").split(delimiter);
  for (const d of dirs) {
    try {
      accessSync(d ? join(d, name) : name, constants.X_OK);
      return true;
    } catch {
      /* keep looking */
    }
  }
  return false;
}

/** A skip message when the test cannot run here (not root, or a binary missing), else undefined. */
export function skipReason(binaries: string[]): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (runs real runc/qemu, netns and cgroups)";
  const missing = binaries.filter((b) => !hasBinary(b));
  if (missing.length > 0)
    return (
      `missing binaries: ${missing.join(", ")} ` +
      "(apt-get install -y runc crun busybox-static qemu-system-x86 linux-image-amd64 cpio iproute2)"
    );
  return undefined;
}

/** Creates a network namespace with lo up; returns its /run/netns path. */
export async function createNetns(name: string): Promise<string> {
  await runOk("ip", ["netns", "add", name]);
  await runOk("ip", ["-n", name, "link", "set", "lo", "up"]);
  return `/run/netns/${name}`;
}

/** Deletes a network namespace if it exists. */
export async function deleteNetns(name: string): Promise<void> {
  await run("ip", ["netns", "del", name]);
}

/** Runs scripts/images/<script> OUTDIR. */
export async function buildImage(script: "build-busybox-rootfs.sh" | "build-tiny-vm.sh", outDir: string): Promise<void> {
  await runOk(join(REPO_ROOT, "scripts", "images", script), [outDir], { timeoutMs: 300_000 });
}
