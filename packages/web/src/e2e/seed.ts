/**
 * Test data for the Hosts and Topology views: the in-process server has no agents, so the test
 * registers two hosts as agents would (spec, VTEP annotation, status) and binds a port of web-net to
 * each. e2e-h2 publishes no VTEP, which is exactly the "missing from a peer's tables" failure.
 */
import assert from "node:assert/strict";
import type { TestServer } from "@kumo/server/testing";

const HOSTS = "/apis/infra.kumo.dev/v1/hosts";
const PORTS = "/apis/network.kumo.dev/v1/namespaces/default/ports";

/** Registers e2e-h1 (healthy, drifting fdb) and e2e-h2 (no VTEP, a dataplane problem), with a port each. */
export async function seedHosts(s: TestServer): Promise<void> {
  const now = new Date().toISOString();
  const hosts = [
    {
      name: "e2e-h1",
      vtep: "192.0.2.11",
      entries: { bridge: { desired: 1, actual: 1 }, vxlan: { desired: 1, actual: 1 }, fdb: { desired: 3, actual: 2 } },
      problems: [],
    },
    {
      name: "e2e-h2",
      vtep: undefined,
      entries: { bridge: { desired: 1, actual: 1 }, vxlan: { desired: 1, actual: 0 } },
      problems: [{ network: "web-net", reason: "NoUnderlay", message: "underlay device missing" }],
    },
  ];
  for (const h of hosts) {
    const annotations = h.vtep ? { "network.kumo.dev/vtep-ip": h.vtep } : {};
    // unschedulable: these hosts have no agent, so nothing must be placed on them.
    const r = await s.call("POST", HOSTS, {
      body: {
        apiVersion: "infra.kumo.dev/v1",
        kind: "Host",
        metadata: { name: h.name, annotations },
        spec: { unschedulable: true, capacity: { cpu: 4000, memoryMiB: 8192, instances: 20 } },
      },
    });
    assert.equal(r.status, 201, r.text);
    const st = await s.call("PATCH", `${HOSTS}/${h.name}/status?fieldManager=kumo-agent`, {
      contentType: "application/merge-patch+json",
      body: {
        status: {
          conditions: [{ type: "Ready", status: "True", reason: "AgentHeartbeat", lastTransitionTime: now }],
          lastHeartbeatTime: now,
          allocatable: { cpu: 4000, memoryMiB: 8192, instances: 20 },
          allocated: { cpu: 1000, memoryMiB: 2048, instances: 2 },
          dataplane: {
            lastSyncTime: now,
            syncDurationMs: 12,
            driftRepairsTotal: h.name === "e2e-h1" ? 3 : 0,
            networks: 1,
            entries: h.entries,
            problems: h.problems,
          },
        },
      },
    });
    assert.equal(st.status, 200, st.text);
    const p = await s.call("POST", PORTS, {
      body: {
        apiVersion: "network.kumo.dev/v1",
        kind: "Port",
        metadata: { name: `${h.name}-probe` },
        spec: { network: "web-net", hostBinding: h.name, deviceOwner: "probe" },
      },
    });
    assert.equal(p.status, 201, p.text);
  }
}
