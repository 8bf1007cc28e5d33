/** Scheduler filters and the capacity arithmetic they rest on: pure unit tests. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Host, HostSpec, HostStatus, KObject } from "@kumo/api";
import { type HostFacts, dominantFailure, filterHosts, firstFailure, unschedulableMessage } from "./filters.js";
import { hostCapacity, instanceResources, RESOURCES_ANNOTATION, resolveResources, subResources } from "./resources.js";

const R = (cpu: number, memoryMiB: number, instances = 1) => ({ cpu, memoryMiB, instances });
const host = (name: string, o: Partial<HostFacts> = {}): HostFacts => ({
  name,
  labels: {},
  ready: true,
  unschedulable: false,
  capacity: R(4000, 8192, 10),
  allocated: R(0, 0, 0),
  groups: new Set(),
  ...o,
});
const req = (cpu = 500, mem = 512, extra: Record<string, unknown> = {}) => ({ resources: R(cpu, mem), ...extra });

describe("filters", () => {
  it("reports the first failing filter in order: readiness, cordon, selector, cpu, memory, slots, anti-affinity", () => {
    assert.equal(firstFailure(host("a", { ready: false, unschedulable: true }), req()), "NotReady");
    assert.equal(firstFailure(host("a", { unschedulable: true }), req(1e9)), "Unschedulable");
    assert.equal(firstFailure(host("a", { labels: { zone: "b" } }), req(1e9, 0, { nodeSelector: { zone: "a" } })), "NodeSelectorMismatch");
    assert.equal(firstFailure(host("a"), req(4001, 1e9)), "InsufficientCpu");
    assert.equal(firstFailure(host("a", { allocated: R(0, 8000, 0) }), req(500, 193)), "InsufficientMemory");
    assert.equal(firstFailure(host("a", { allocated: R(0, 0, 10) }), req()), "TooManyInstances");
    assert.equal(firstFailure(host("a", { groups: new Set(["db"]) }), req(500, 512, { antiAffinityGroup: "db" })), "AntiAffinity");
    assert.equal(firstFailure(host("a", { groups: new Set(["db"]) }), req(500, 512, { antiAffinityGroup: "web" })), undefined);
    assert.equal(firstFailure(host("a", { labels: { zone: "a", x: "y" } }), req(500, 512, { nodeSelector: { zone: "a" } })), undefined);
  });

  it("fits exactly at capacity and not one unit over", () => {
    assert.equal(firstFailure(host("a", { allocated: R(3500, 7680, 9) }), req(500, 512)), undefined);
    assert.equal(firstFailure(host("a", { allocated: R(3501, 7680, 9) }), req(500, 512)), "InsufficientCpu");
  });

  it("counts hosts by first failure into the Kubernetes-style message, most common first", () => {
    const hosts = [host("a", { ready: false }), host("b", { capacity: R(4000, 256, 10) }), host("c", { capacity: R(4000, 256, 10) })];
    const { feasible, failures } = filterHosts(hosts, req());
    assert.equal(feasible.length, 0);
    assert.equal(unschedulableMessage(hosts.length, failures), "0/3 hosts: 2 insufficient memory, 1 NotReady");
    assert.equal(dominantFailure(failures), "InsufficientMemory");
    assert.equal(unschedulableMessage(0, new Map()), "0/0 hosts: no hosts are registered");
    const tie = filterHosts([host("a", { ready: false }), host("b", { unschedulable: true })], req());
    assert.equal(unschedulableMessage(2, tie.failures), "0/2 hosts: 1 NotReady, 1 unschedulable (cordoned)");
  });
});

describe("resources", () => {
  const h = (spec: HostSpec | undefined, status: HostStatus | undefined): Host => ({
    apiVersion: "infra.kumo.dev/v1",
    kind: "Host",
    metadata: { name: "h" },
    spec,
    status,
  });

  it("takes capacity from status.allocatable per dimension, else spec.capacity; unknown slots are unlimited", () => {
    assert.deepEqual(
      hostCapacity(h({ capacity: { cpu: 1000, memoryMiB: 2048, instances: 5 } }, { allocatable: { cpu: 800 } })),
      R(800, 2048, 5),
    );
    assert.deepEqual(hostCapacity(h(undefined, undefined)), R(0, 0, Number.POSITIVE_INFINITY));
  });

  it("resolves explicit cpu/memory over the flavor and reads the recorded reservation back", () => {
    assert.deepEqual(resolveResources({ kind: "vm", image: "i", flavor: "f" }, { cpu: 2000, memoryMiB: 1024 }), R(2000, 1024));
    assert.deepEqual(resolveResources({ kind: "vm", image: "i", flavor: "f", memoryMiB: 64 }, { cpu: 2000, memoryMiB: 1024 }), R(2000, 64));
    assert.equal(resolveResources({ kind: "vm", image: "i", flavor: "f" }, undefined), undefined);
    const inst = (v: string): KObject => ({ apiVersion: "v1", kind: "Instance", metadata: { annotations: { [RESOURCES_ANNOTATION]: v } } });
    assert.deepEqual(instanceResources(inst('{"cpu":250,"memoryMiB":64}')), R(250, 64));
    assert.equal(instanceResources(inst('{"cpu":-1,"memoryMiB":64}')), undefined);
    assert.equal(instanceResources(inst("not json")), undefined);
  });

  it("never releases below zero", () => {
    assert.deepEqual(subResources(R(100, 100, 1), R(250, 64, 1)), R(0, 36, 0));
  });
});
