/**
 * Baseline for container starts: plain `runc create` + `runc start` of the bundle the agent would
 * run for the same instance. The config comes from the agent's own mapping (containerRuntimeSpec →
 * buildOciConfig: same command, env, hostname, memory/cpu/pids limits, namespaces and mounts) over a
 * private unpacked copy of the same image tar; only the root path (a plain directory instead of the
 * agent's per-instance overlay) and the cgroup parent differ. Private --root, own cgroup parent,
 * everything removed in close().
 */
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Instance } from "@kumo/api";
import { containerRuntimeSpec } from "@kumo/agent/agent/instance-spec";
import { buildOciConfig, OciCli } from "@kumo/agent/runtime/index";
import { run } from "@kumo/runtime/proc";

const CGROUP_CONTROLLERS = ["memory", "cpu", "pids", "cpuset", "devices", "freezer", "blkio", "cpuacct", "systemd", "unified"];

/** Plain runc over bundles equivalent to the agent's. */
export class PlainRunc {
  private readonly cli: OciCli;
  private readonly cgroupParent = `kumo-bench-${process.pid}`;
  private readonly live = new Set<string>();

  private constructor(
    private readonly dir: string,
    private readonly rootfs: string,
  ) {
    this.cli = new OciCli("runc", join(dir, "oci-root"));
  }

  /** Unpacks the image tar into a temp dir. */
  static async open(imageTar: string): Promise<PlainRunc> {
    const dir = await mkdtemp(join(tmpdir(), "kumo-bench-runc-"));
    const rootfs = join(dir, "rootfs");
    await mkdir(rootfs);
    execFileSync("tar", ["-xf", imageTar, "-C", rootfs]);
    return new PlainRunc(dir, rootfs);
  }

  /** Writes bundle `id` for an instance shaped like `inst` (the agent's spec mapping, no network). */
  async bundle(id: string, inst: Instance): Promise<void> {
    const spec = containerRuntimeSpec(inst, id, {
      name: inst.spec!.image,
      format: "rootfs-tar",
      files: {},
      rootfs: this.rootfs,
      hit: true,
      downloadedBytes: 0,
      ms: 0,
    });
    const b = join(this.dir, "bundles", id);
    await mkdir(b, { recursive: true });
    await writeFile(
      join(b, "config.json"),
      JSON.stringify(buildOciConfig(spec, { rootPath: this.rootfs, readonly: false, cgroupsPath: `/${this.cgroupParent}/${id}` })),
    );
  }

  /** Times `runc create` (detached, output discarded) + `runc start` of bundle `id`, in ms. */
  async start(id: string): Promise<number> {
    const t = performance.now();
    this.live.add(id);
    await this.cli.execOk(["create", "--bundle", join(this.dir, "bundles", id), id], {
      stdio: ["ignore", "ignore", "ignore"],
      detached: true,
    });
    await this.cli.execOk(["start", id]);
    return performance.now() - t;
  }

  /** `runc delete --force` (untimed). */
  async remove(id: string): Promise<void> {
    await this.cli.exec(["delete", "--force", id]);
    this.live.delete(id);
  }

  /** Removes every container, the cgroup parent and the temp dir. */
  async close(): Promise<void> {
    for (const id of [...this.live]) await this.remove(id);
    for (const c of CGROUP_CONTROLLERS) await run("rmdir", [`/sys/fs/cgroup/${c}/${this.cgroupParent}`]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
