/** The CLI uses the one node-side fetch (node:https with the cloud's CA), shared with the agents. */
export { createNodeFetch, type NodeFetch, type NodeFetchOptions } from "@kumo/agent/transport";
