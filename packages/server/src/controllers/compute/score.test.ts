/** Scheduler weights: spread picks the emptiest host, pack the fullest; ties are reproducible. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { HostFacts } from "./filters.js";
import { pickHost, scoreHost } from "./score.js";

const R = (cpu: number, memoryMiB: number, instances = 0) => ({ cpu, memoryMiB, instances });
const host = (name: string, allocated = R(0, 0), capacity = R(4000, 4096, Number.POSITIVE_INFINITY)): HostFacts => ({
  name,
  labels: {},
  ready: true,
  unschedulable: false,
  capacity,
  allocated,
  groups: new Set(),
});
const req = { resources: R(1000, 1024, 1) };

describe("score", () => {
  const empty = host("empty");
  const half = host("half", R(2000, 2048, 2));
  const full = host("full", R(3000, 3072, 3));

  it("spread prefers the least allocated host after placement, pack the most allocated", () => {
    assert.ok(scoreHost(empty, req, "spread") > scoreHost(half, req, "spread"));
    assert.ok(scoreHost(half, req, "spread") > scoreHost(full, req, "spread"));
    assert.equal(pickHost([half, full, empty], req, "spread")?.name, "empty");
    assert.equal(pickHost([half, empty, full], req, "pack")?.name, "full");
    assert.equal(scoreHost(full, req, "pack"), 100);
    assert.equal(scoreHost(full, req, "spread"), 0);
  });

  it("weighs cpu and memory equally, and instance slots only when the host limits them", () => {
    const cpuHeavy = host("cpu", R(3000, 0));
    const memHeavy = host("mem", R(0, 3072));
    assert.equal(scoreHost(cpuHeavy, req, "spread"), scoreHost(memHeavy, req, "spread"));
    const slots = host("slots", R(0, 0, 9), R(4000, 4096, 10));
    assert.ok(scoreHost(slots, req, "spread") < scoreHost(empty, req, "spread"), "a host with its slots nearly used is less attractive");
  });

  it("breaks ties by fewer instances, then by name; no host → undefined", () => {
    assert.equal(pickHost([host("b"), host("a"), host("c")], req, "spread")?.name, "a");
    assert.equal(pickHost([], req, "spread"), undefined);
  });
});
