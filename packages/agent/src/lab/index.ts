/** Host lab (cloud in a box): hosts as network namespaces on an underlay bridge, one agent each. */
export {
  ensureLab,
  addHost,
  removeHost,
  destroyLab,
  labStatus,
  type EnsureLabOptions,
  type TeardownOptions,
  type LabHost,
  type DestroyReport,
  type LabHostStatus,
  type LabStatus,
} from "./lab.js";
export { ensureUnderlay, readUnderlay, hostAddress, UNDERLAY_MTU, type Underlay } from "./underlay.js";
export { labNames, labPrefix, DEFAULT_HOME, MAX_HOST_INDEX, type LabNames } from "./naming.js";
export { agentArgv, agentMainOf, type AgentLaunch } from "./agent-process.js";
export { HOST_UNDERLAY_DEV } from "./host-netns.js";
