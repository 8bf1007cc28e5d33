/** The instance controller in a real server: ports, addresses, host binding, flavors, and the deletion handshake with the agent. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../testing.js";
import { INSTANCE_FINALIZER, RESOURCES_ANNOTATION } from "./resources.js";
import {
  P,
  agentConfirmsDeletion,
  allocatedOf,
  cond,
  eventsFor,
  fakeHosts,
  getInstance,
  hostObject,
  instanceObject,
  readyImage,
  until,
} from "./test-support.js";

let s: TestServer;
let beats: Awaited<ReturnType<typeof fakeHosts>>;
const NET = P.net();

before(async () => {
  s = await startTestServer({ heartbeatGraceMs: 1500 });
  await readyImage(s);
  beats = await fakeHosts(
    s,
    ["h1", "h2"].map((n) => hostObject(n, { cpu: 8000, memoryMiB: 8192 }, { name: n })),
  );
  await s.call("POST", `${NET}/networks`, { body: { apiVersion: "network.kumo.dev/v1", kind: "Network", metadata: { name: "net1" } } });
  await s.call("POST", `${NET}/subnets`, {
    body: {
      apiVersion: "network.kumo.dev/v1",
      kind: "Subnet",
      metadata: { name: "net1-v4" },
      spec: { network: "net1", cidr: "10.9.0.0/24" },
    },
  });
});
after(async () => {
  beats?.stop();
  await s?.stop();
});

const create = async (name: string, spec: Record<string, unknown>) =>
  assert.equal((await s.call("POST", P.instances(), { body: instanceObject(name, spec) })).status, 201);
const port = async (name: string) => {
  const r = await s.call("GET", `${NET}/ports/${name}`);
  return r.status === 200 ? r.body : undefined;
};
const gone = (name: string) => until(`${name} deleted`, async () => !(await getInstance(s, name)));
const zero = { cpu: 0, memoryMiB: 0, instances: 0 };

describe("instance controller", () => {
  it("creates the port, reports addresses, binds it to the host, and releases everything only after the agent confirms", async () => {
    await create("web1", { networks: [{ network: "net1" }], nodeSelector: { name: "h1" } });
    const inst = await until("web1 scheduled with addresses", async () => {
      const i = await getInstance(s, "web1");
      return i?.status?.host && i.status.addresses?.length && i;
    });
    assert.ok(inst.metadata.finalizers.includes(INSTANCE_FINALIZER));
    assert.deepEqual(JSON.parse(inst.metadata.annotations[RESOURCES_ANNOTATION]), { cpu: 250, memoryMiB: 64 });
    const p = await until("port bound to h1", async () => {
      const x = await port("web1-net1");
      return x?.spec.hostBinding === "h1" && x;
    });
    assert.equal(p.spec.deviceOwner, "instance:web1");
    assert.deepEqual(
      p.metadata.ownerReferences.map((r: { kind: string; name: string; controller: boolean }) => [r.kind, r.name, r.controller]),
      [["Instance", "web1", true]],
    );
    assert.ok(p.metadata.managedFields.some((m: { manager: string }) => m.manager === "kumo-instance-controller"));
    assert.deepEqual(inst.status.addresses, [
      { network: "net1", ip: p.spec.fixedIPs[0].ipAddress, mac: p.spec.macAddress, port: "web1-net1" },
    ]);
    assert.equal(cond(inst, "PortBound").status, "True");
    assert.deepEqual(await allocatedOf(s, "h1"), { cpu: 250, memoryMiB: 64, instances: 1 });

    assert.equal((await s.call("DELETE", `${P.instances()}/web1`)).status, 200);
    await until("Terminating", async () => (await getInstance(s, "web1"))?.status?.phase === "Terminating");
    await new Promise((r) => setTimeout(r, 700));
    assert.ok(await getInstance(s, "web1"), "waits for the agent while h1 is Ready");
    assert.ok(await port("web1-net1"), "the port stays while the instance may still run");
    assert.deepEqual(await allocatedOf(s, "h1"), { cpu: 250, memoryMiB: 64, instances: 1 });

    await agentConfirmsDeletion(s, "web1");
    await gone("web1");
    assert.equal(await port("web1-net1"), undefined);
    assert.deepEqual(await allocatedOf(s, "h1"), zero);
    const reasons = (await eventsFor(s, "web1")).map((e) => e.reason);
    for (const r of ["Accepted", "PortCreated", "Scheduled", "PortBound", "Terminating", "PortDeleted", "HostReleased", "Finalized"])
      assert.ok(reasons.includes(r), `event ${r} in ${reasons}`);
    const reuse = await until("the address is free again", async () => {
      const r = await s.call("POST", `${NET}/ports`, {
        body: {
          apiVersion: "network.kumo.dev/v1",
          kind: "Port",
          metadata: { name: "reuse" },
          spec: { network: "net1", fixedIPs: [{ subnet: "net1-v4", ipAddress: p.spec.fixedIPs[0].ipAddress }] },
        },
      });
      return r.status === 201 && r;
    });
    assert.equal(reuse.status, 201);
  });

  it("does not wait for the agent of a host that went NotReady", async () => {
    await create("on-h2", { nodeSelector: { name: "h2" } });
    await until("on h2", async () => (await getInstance(s, "on-h2"))?.status?.host === "h2");
    assert.deepEqual(await allocatedOf(s, "h2"), { cpu: 250, memoryMiB: 64, instances: 1 });
    await s.call("DELETE", `${P.instances()}/on-h2`);
    await until("Terminating", async () => (await getInstance(s, "on-h2"))?.status?.phase === "Terminating");
    beats.silence("h2"); // the agent dies: after the grace period the host is NotReady
    await gone("on-h2");
    assert.deepEqual(await allocatedOf(s, "h2"), zero);
    const ev = (await eventsFor(s, "on-h2")).find((e) => e.reason === "HostNotReady");
    assert.equal(ev?.type, "Warning");
    assert.match(ev.message, /host h2 is NotReady/);
  });

  it("deletes a never-scheduled instance at once", async () => {
    await create("nowhere", { nodeSelector: { name: "h9" } });
    await until("refused", async () => cond(await getInstance(s, "nowhere"), "Scheduled")?.reason === "Unschedulable");
    await s.call("DELETE", `${P.instances()}/nowhere`);
    await gone("nowhere");
  });

  it("resolves a flavor into the reservation, and waits for a flavor that does not exist yet", async () => {
    await create("flavored", { kind: "vm", flavor: "medium", nodeSelector: { name: "h1" } });
    const waiting = await until("FlavorNotFound", async () => {
      const i = await getInstance(s, "flavored");
      return cond(i, "Scheduled")?.reason === "FlavorNotFound" && i;
    });
    assert.match(cond(waiting, "Scheduled").message, /flavor "medium" not found/);
    assert.ok(waiting.metadata.finalizers.includes(INSTANCE_FINALIZER));
    await s.call("POST", P.flavors, {
      body: { apiVersion: "compute.kumo.dev/v1", kind: "Flavor", metadata: { name: "medium" }, spec: { cpu: 2000, memoryMiB: 2048 } },
    });
    await until("scheduled with the flavor's size", async () => (await getInstance(s, "flavored"))?.status?.host === "h1");
    assert.deepEqual(await allocatedOf(s, "h1"), { cpu: 2000, memoryMiB: 2048, instances: 1 });
    await s.call("DELETE", `${P.instances()}/flavored`);
    await agentConfirmsDeletion(s, "flavored");
    await gone("flavored");
    assert.deepEqual(await allocatedOf(s, "h1"), zero);
  });

  it("adopts a named port without owning it, and hands it back on deletion", async () => {
    assert.equal(
      (
        await s.call("POST", `${NET}/ports`, {
          body: { apiVersion: "network.kumo.dev/v1", kind: "Port", metadata: { name: "keep-me" }, spec: { network: "net1" } },
        })
      ).status,
      201,
    );
    await create("adopter", { networks: [{ network: "net1", port: "keep-me" }], nodeSelector: { name: "h1" } });
    const p = await until("adopted and bound", async () => {
      const x = await port("keep-me");
      return x?.spec.hostBinding === "h1" && x;
    });
    assert.equal(p.spec.deviceOwner, "instance:adopter");
    assert.equal(p.metadata.ownerReferences, undefined);
    await create("thief", { networks: [{ network: "net1", port: "keep-me" }], nodeSelector: { name: "h9" } });
    const thief = await until("PortInUse", async () => {
      const i = await getInstance(s, "thief");
      return cond(i, "PortBound")?.reason === "PortInUse" && i;
    });
    assert.match(cond(thief, "PortBound").message, /in use by instance:adopter/);
    await s.call("DELETE", `${P.instances()}/thief`); // never scheduled: goes at once, and cannot grab the port later
    await gone("thief");
    await s.call("DELETE", `${P.instances()}/adopter`);
    await agentConfirmsDeletion(s, "adopter");
    await gone("adopter");
    const back = await port("keep-me");
    assert.ok(back, "an adopted port outlives the instance");
    assert.equal(back.spec.deviceOwner, undefined);
    assert.equal(back.spec.hostBinding, undefined);
  });
});
