/** Agent overlay dataplane: desired-state types, the Linux driver, and port plumbing. */
export * from "./types.js";
export { LinuxNetworkDriver, type LinuxNetworkDriverOptions, type NetworkDriverSnapshot, type KindSnapshot } from "./linux-driver.js";
export { InvalidDesiredState, validateDesired } from "./validate.js";
export {
  plugPort,
  unplugPort,
  runDhcpClient,
  portExec,
  portIfName,
  netnsExists,
  PORT_DEVICE,
  type PlugPortOptions,
  type DhcpLease,
  type DhcpClientOptions,
} from "./port-plug.js";
