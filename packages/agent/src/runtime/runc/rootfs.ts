// Per-instance writable root: an overlay whose lower layer is the shared, cached image rootfs,
// so many containers can run one image without copying it or writing into the cache.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { run, runOk } from "@kumo/runtime/proc";

/** Paths of an instance's overlay inside its container dir. */
export function overlayPaths(dir: string): { upper: string; work: string; merged: string } {
  return { upper: join(dir, "upper"), work: join(dir, "work"), merged: join(dir, "rootfs") };
}

/** True when path is a mount point in this process's mount namespace. */
export async function isMountPoint(path: string): Promise<boolean> {
  const info = await readFile("/proc/self/mountinfo", "utf8");
  // Field 5 is the mount point, with spaces etc. octal-escaped.
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
  return info.split("\n").some((l) => l.split(" ")[4] === escaped);
}

/** Mounts lower + dir/upper at dir/rootfs unless it is already mounted (adoption, restarts). */
export async function mountOverlay(lower: string, dir: string): Promise<string> {
  const p = overlayPaths(dir);
  await Promise.all([mkdir(p.upper, { recursive: true }), mkdir(p.work, { recursive: true }), mkdir(p.merged, { recursive: true })]);
  if (await isMountPoint(p.merged)) return p.merged;
  if (/[,:]/.test(lower) || /[,:]/.test(dir)) throw new Error(`overlay paths must not contain ',' or ':': ${lower}, ${dir}`);
  await runOk("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lower},upperdir=${p.upper},workdir=${p.work}`, p.merged]);
  return p.merged;
}

/** Unmounts dir/rootfs when mounted; a lazy detach covers a still-busy mount. */
export async function unmountOverlay(dir: string): Promise<void> {
  const { merged } = overlayPaths(dir);
  if (!(await isMountPoint(merged))) return;
  const r = await run("umount", [merged]);
  if (r.code !== 0) await runOk("umount", ["-l", merged]);
}
