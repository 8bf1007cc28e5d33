/**
 * Where runc finds a container of a lab host, for `kumo exec` on the machine that runs the lab: the host
 * agent's runc root under $KUMO_HOME and the container's id. In one place with the agent's own layout, so
 * the CLI never rebuilds the agent's paths itself.
 */
import type { Instance } from "@kumo/api";
import { ociRoot } from "../agent/instance-paths.js";
import { runtimeId } from "../agent/instance-spec.js";
import { hostFiles } from "./agent-process.js";
import { labNames } from "./naming.js";

/** runc's `--root` and container id of `inst` on lab host `host` of the lab in `home`. */
export function labContainer(home: string, host: string, inst: Instance): { ociRoot: string; id: string } {
  return { ociRoot: ociRoot(hostFiles(labNames(home), host).state), id: runtimeId(inst) };
}
