// Thin wrapper over the runc/crun command line with a private --root state dir, so kumo's
// containers never mix with other users of runc on the host and survive the agent restarting.
import { existsSync } from "node:fs";
import { run, runOk, type RunResult } from "@kumo/runtime/proc";

/** Which OCI runtime binary to drive. */
export type OciRuntimeName = "runc" | "crun";

/** One entry of `runc list --format json`. */
export interface OciContainerState {
  id: string;
  pid: number;
  status: "creating" | "created" | "running" | "paused" | "stopped" | string;
  bundle: string;
  created: string;
}

/** Command lines for one runtime binary and state root. */
export class OciCli {
  private readonly argv0: string;
  private readonly prefix: string[];

  /** binary: path or name of runc/crun; root: the --root state dir. */
  constructor(
    readonly runtime: OciRuntimeName,
    readonly root: string,
    binary: string = runtime,
  ) {
    // crun refuses the hybrid cgroup layout of this host ("cgroups in hybrid mode not supported")
    // but works in a private mount namespace without the cgroup2 mount, so wrap every call.
    if (runtime === "crun" && existsSync("/sys/fs/cgroup/unified/cgroup.controllers")) {
      this.argv0 = "unshare";
      this.prefix = ["-m", "sh", "-c", 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"', binary, "--root", root];
    } else {
      this.argv0 = binary;
      this.prefix = ["--root", root];
    }
  }

  /** Runs `<runtime> --root ROOT args...`; stdio may redirect the container's output. */
  exec(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    return run(this.argv0, [...this.prefix, ...args], opts);
  }

  /** Like exec() but throws on a non-zero exit. */
  execOk(args: string[], opts: Parameters<typeof run>[2] = {}): Promise<RunResult> {
    return runOk(this.argv0, [...this.prefix, ...args], opts);
  }

  /** The argv for a command, for callers that spawn it themselves (streaming exec). */
  argv(args: string[]): [string, string[]] {
    return [this.argv0, [...this.prefix, ...args]];
  }

  /** All containers under this root (runc prints "null" when there are none). */
  async list(): Promise<OciContainerState[]> {
    const r = await this.execOk(["list", "--format", "json"]);
    const parsed = JSON.parse(r.stdout.trim() || "null") as OciContainerState[] | null;
    return parsed ?? [];
  }

  /** State of one container, or null when the runtime does not know it. */
  async state(id: string): Promise<OciContainerState | null> {
    const r = await this.exec(["state", id]);
    if (r.code !== 0) {
      if (/does not exist|not found|No such file/i.test(r.stderr)) return null;
      throw new Error(`${this.runtime} state ${id}: ${r.stderr.trim()}`);
    }
    return JSON.parse(r.stdout) as OciContainerState;
  }
}
