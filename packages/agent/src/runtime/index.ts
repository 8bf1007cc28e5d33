// Public surface of the agent's compute runtime drivers.
export * from "./types.js";
export { RuncDriver, type RuncDriverOptions, type ExecResult } from "./runc/runc-driver.js";
export { buildOciConfig } from "./runc/oci-config.js";
export { OciCli, type OciRuntimeName, type OciContainerState } from "./runc/oci-cli.js";
export { QemuDriver, type QemuDriverOptions } from "./qemu/qemu-driver.js";
export { QmpClient, qmpOnce, type QmpEvent } from "./qemu/qmp.js";
export { AccelChooser, type KvmVerdict } from "./qemu/accel.js";
export { CompositeRuntimeDriver } from "./composite.js";
