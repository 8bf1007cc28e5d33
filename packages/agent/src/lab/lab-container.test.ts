// `kumo exec` finds a lab host's containers where that host's agent keeps them: the runc root of the
// driver the agent builds from its --state-dir, and the runtime id the agent gives the instance.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Instance } from "@kumo/api";
import { runtimeDir } from "../agent/instance-paths.js";
import { runtimeId } from "../agent/instance-spec.js";
import { RuncDriver } from "../runtime/runc/runc-driver.js";
import { agentArgv } from "./agent-process.js";
import { hostNet } from "./host-netns.js";
import { labContainer } from "./lab-container.js";
import { labNames } from "./naming.js";

describe("labContainer", () => {
  it("is the runc root and container id of the lab host's agent", () => {
    const home = "/tmp/kumo-lab-container";
    const n = labNames(home);
    const h = hostNet(n, { bridge: n.bridge, cidr: "10.201.0.0/24", gateway: "10.201.0.1" }, 1);
    const argv = agentArgv(n, h, { serverUrl: "https://10.201.0.1:6443", caFile: "/c", tokenFile: "/t", repoRoot: "/repo" });
    const stateDir = argv[argv.indexOf("--state-dir") + 1];
    const inst: Instance = {
      apiVersion: "compute.kumo.dev/v1",
      kind: "Instance",
      metadata: { name: "c1", namespace: "default", uid: "u-1" },
    };
    const c = labContainer(home, h.name, inst);
    // The agent's drivers, built as agent.ts builds them.
    assert.equal(c.ociRoot, new RuncDriver({ stateDir: runtimeDir(stateDir) }).cli.root);
    assert.equal(c.id, runtimeId(inst));
  });
});
