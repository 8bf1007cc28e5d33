/** IPAM and VNI allocation through the real API: uniqueness under concurrency, release on delete. */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startTestServer, type CallResult, type TestServer } from "../../testing.js";

const NET = "/apis/network.kumo.dev/v1/namespaces/default";
let s: TestServer;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "kumo-ipam-"));
  // sqlite: allocation uniqueness must hold on the durable store, not just in memory
  s = await startTestServer({ datastore: `sqlite://${join(dir, "kumo.db")}` });
});
after(async () => {
  await s?.stop();
  await rm(dir, { recursive: true, force: true });
});

const network = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Network",
  metadata: { name },
  spec,
});
const subnet = (name: string, net: string, cidr: string) => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Subnet",
  metadata: { name },
  spec: { network: net, cidr },
});
const port = (name: string, net: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "network.kumo.dev/v1",
  kind: "Port",
  metadata: { name },
  spec: { network: net, ...extra },
});

describe("network allocation", () => {
  it("gives networks distinct VNIs and an MTU of underlay − 50; a pinned VNI cannot be reused", async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.call("POST", `${NET}/networks`, { body: network(`vn${i}`) })));
    assert.ok(
      results.every((r) => r.status === 201),
      JSON.stringify(results.find((r) => r.status !== 201)?.body),
    );
    const vnis = results.map((r) => r.body.spec.vni);
    assert.equal(new Set(vnis).size, 20);
    assert.equal(results[0].body.spec.mtu, 1450);
    const dup = await s.call("POST", `${NET}/networks`, { body: network("dup", { vni: vnis[0] }) });
    assert.equal(dup.status, 422);
    assert.match(dup.body.message, /spec\.vni: VNI \d+ is already used/);
  });

  it("never hands out one address twice, with 500 ports created concurrently; deleting frees the address", async () => {
    assert.equal((await s.call("POST", `${NET}/networks`, { body: network("big") })).status, 201);
    const sn = await s.call("POST", `${NET}/subnets`, { body: subnet("big-v4", "big", "10.50.0.0/22") });
    assert.equal(sn.status, 201);
    assert.equal(sn.body.spec.gateway, "10.50.0.1");
    const res = await Promise.all(Array.from({ length: 500 }, (_, i) => s.call("POST", `${NET}/ports`, { body: port(`p${i}`, "big") })));
    const failed = res.filter((r) => r.status !== 201);
    assert.equal(failed.length, 0, JSON.stringify(failed[0]?.body));
    const ips = res.map((r) => r.body.spec.fixedIPs[0].ipAddress);
    const macs = res.map((r) => r.body.spec.macAddress);
    assert.equal(new Set(ips).size, 500, "IPs are unique");
    assert.equal(new Set(macs).size, 500, "MACs are unique");
    assert.ok(!ips.includes("10.50.0.1"), "the gateway is never handed out");
    assert.ok(macs.every((m) => /^02:4b:4d(:[0-9a-f]{2}){3}$/.test(m)));

    const freed = res[7].body.spec.fixedIPs[0].ipAddress;
    assert.equal((await s.call("DELETE", `${NET}/ports/p7`)).status, 200);
    let again: CallResult | undefined;
    for (let i = 0; i < 50; i++) {
      again = await s.call("POST", `${NET}/ports`, {
        body: port("wants-freed", "big", { fixedIPs: [{ subnet: "big-v4", ipAddress: freed }] }),
      });
      if (again.status === 201) break;
      await new Promise((r) => setTimeout(r, 20)); // the release follows the DELETED event
    }
    assert.equal(again!.status, 201, JSON.stringify(again!.body));
    const taken = await s.call("POST", `${NET}/ports`, {
      body: port("wants-taken", "big", { fixedIPs: [{ subnet: "big-v4", ipAddress: ips[0] }] }),
    });
    assert.equal(taken.status, 422);
    assert.match(taken.body.message, /already allocated/);
  });

  it("rejects ports on unknown networks or networks without a subnet, and refuses deleting a network in use", async () => {
    const noNet = await s.call("POST", `${NET}/ports`, { body: port("x1", "nope") });
    assert.equal(noNet.status, 422);
    assert.match(noNet.body.message, /network "nope" not found/);
    await s.call("POST", `${NET}/networks`, { body: network("bare") });
    const noSubnet = await s.call("POST", `${NET}/ports`, { body: port("x2", "bare") });
    assert.equal(noSubnet.status, 422);
    assert.match(noSubnet.body.message, /has no subnet/);
    const badCidr = await s.call("POST", `${NET}/subnets`, { body: subnet("bad", "bare", "10.0.0.1/24") });
    assert.equal(badCidr.status, 422);
    assert.match(badCidr.body.message, /spec\.cidr/);
    const inUse = await s.call("DELETE", `${NET}/networks/big`);
    assert.equal(inUse.status, 409);
    assert.match(inUse.body.message, /in use by \d+ port/);
  });
});
