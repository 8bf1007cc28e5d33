/**
 * @kumo/agent's public entry: what code outside the agent (the CLI) may use. The host lab behind
 * `kumo up / host / down` (hosts as network namespaces on this machine, one agent each), where runc finds
 * a lab host's containers (`kumo exec`), and the network driver that reads a namespace's dataplane from its kernel
 * (`kumo doctor`, which must work when the agent is the broken part). Everything else is the agent's own.
 */
export * from "./lab/index.js";
export { labContainer } from "./lab/lab-container.js";
export { LinuxNetworkDriver } from "./network/linux-driver.js";
