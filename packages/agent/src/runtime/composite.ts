// One RuntimeDriver over both kinds, so the agent can hold a single driver: ensure() routes by
// spec.kind, calls by id go to whichever driver has state for that id.
import { existsSync } from "node:fs";
import type { QemuDriver } from "./qemu/qemu-driver.js";
import type { RuncDriver } from "./runc/runc-driver.js";
import type { HostRuntimeDriver, InstanceRuntimeSpec, InstanceRuntimeStatus, LogOptions, RuntimeDriver } from "./types.js";

/** Routes container specs to a RuncDriver and VM specs to a QemuDriver. */
export class CompositeRuntimeDriver implements HostRuntimeDriver {
  constructor(
    readonly containers: RuncDriver,
    readonly vms: QemuDriver,
  ) {}

  ensure(spec: InstanceRuntimeSpec): Promise<InstanceRuntimeStatus> {
    return spec.kind === "vm" ? this.vms.ensure(spec) : this.containers.ensure(spec);
  }

  stop(id: string): Promise<void> {
    return this.owner(id).stop(id);
  }

  remove(id: string): Promise<void> {
    return this.owner(id).remove(id);
  }

  async list(): Promise<InstanceRuntimeStatus[]> {
    const [c, v] = await Promise.all([this.containers.list(), this.vms.list()]);
    return [...c, ...v];
  }

  logs(id: string, opts?: LogOptions): Promise<string> {
    return this.owner(id).logs(id, opts);
  }

  /** The file logs() reads (a VM's serial console, a container's stdout+stderr), to follow it as it grows. */
  logFile(id: string, kind: "container" | "vm"): string {
    // By kind, not by state dir: a follow may start before the runtime has written anything.
    return kind === "vm" ? this.vms.paths(id).serialLog : this.containers.logPath(id);
  }

  snapshot(): Record<string, unknown> {
    return { container: this.containers.snapshot(), vm: this.vms.snapshot() };
  }

  // Ids are unique across kinds (they are instance names), so the state dir decides.
  private owner(id: string): RuntimeDriver {
    return existsSync(this.vms.paths(id).dir) ? this.vms : this.containers;
  }
}
