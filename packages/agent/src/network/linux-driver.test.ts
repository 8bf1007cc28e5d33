/**
 * LinuxNetworkDriver edge cases on a real kernel (root, one throwaway netns): batches iproute2
 * aborts are detected, a missing underlay is reported without writing, hand-moved FDB entries are put
 * back with `replace`, and devices or entries kumo does not own survive every sync.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { runBatch } from "./batch.js";
import { LinuxNetworkDriver } from "./linux-driver.js";
import { addNetns, Cleanup, sh, skipUnlessRoot, uniquePrefix } from "./test-support.js";
import { deviceNames, type NetworkDataplane } from "./types.js";

const skip = skipUnlessRoot(["ip", "bridge"]);
const NS = `${uniquePrefix()}-drv`;
const { bridge, vxlan } = deviceNames(77);
const PEER_MAC = "02:6b:00:00:07:01";

const net = (over: Partial<NetworkDataplane> = {}): NetworkDataplane => ({
  name: "amber",
  vni: 77,
  mtu: 1450,
  bridge,
  vxlan,
  localVtep: "10.97.0.1",
  underlayDev: "eth0",
  addresses: ["10.252.0.1/24"],
  floodPeers: ["10.97.0.2"],
  fdb: [{ mac: PEER_MAC, dst: "10.97.0.2" }],
  neighbours: [{ ip: "10.252.0.21", mac: PEER_MAC }],
  routes: [{ dst: "10.253.0.0/24", via: "10.252.0.254" }],
  ...over,
});

describe("LinuxNetworkDriver on a real kernel", { skip }, () => {
  const cleanup = new Cleanup();
  const driver = new LinuxNetworkDriver({ netns: NS });
  before(() => {
    addNetns(cleanup, NS);
    // Foreign state that must survive: a non-kumo bridge with a neighbour entry and a static route.
    sh("ip", "-n", NS, "link", "add", "br-foreign", "type", "bridge");
    sh("ip", "-n", NS, "addr", "add", "10.96.0.1/24", "dev", "br-foreign");
    sh("ip", "-n", NS, "link", "set", "br-foreign", "up");
    sh("ip", "-n", NS, "neigh", "replace", "10.96.0.9", "lladdr", "02:00:00:00:00:09", "dev", "br-foreign", "nud", "permanent");
    sh("ip", "-n", NS, "route", "add", "10.95.0.0/24", "via", "10.96.0.9", "dev", "br-foreign");
  });
  after(() => cleanup.run());

  it("detects a batch iproute2 aborted mid-way (not just a refused line)", async () => {
    const r = await runBatch("ip", NS, [
      "link set dev nosuch up",
      "link add kvx-5 type vxlan id 5 local 10.97.0.1 dev nosuch dstport 8472",
      "link set dev lo up",
    ]);
    assert.deepEqual([...r.failures.keys()], [0]);
    assert.match(r.aborted ?? "", /nosuch/);
  });

  it("writes nothing for a network whose underlay is missing, then completes it once it exists", async () => {
    const r = await driver.sync({ networks: [net()] });
    assert.equal(r.writes, 0);
    assert.equal(r.networks[0].problem, "underlay device eth0 not found; nothing written");
    assert.match(r.errors.join("\n"), /network amber: underlay device eth0 not found/);
    assert.equal(driver.snapshot().networks.amber.kinds.fdb.actual, 0);
    assert.equal(driver.snapshot().lastSync!.ok, false);

    sh("ip", "-n", NS, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1");
    sh("ip", "-n", NS, "addr", "add", "10.97.0.1/24", "dev", "eth0");
    sh("ip", "-n", NS, "link", "set", "eth0", "up");
    const again = await driver.sync({ networks: [net()] });
    assert.deepEqual(again.errors, []);
    assert.equal(again.driftRepairs, 0, "entries that never got in are not drift");
    assert.equal(driver.snapshot().networks.amber.kinds.fdb.actual, 1);
    assert.equal((await driver.sync({ networks: [net()] })).writes, 0);
  });

  it("puts a hand-moved or hand-appended FDB entry back to exactly one remote", async () => {
    sh("bridge", "-n", NS, "fdb", "replace", PEER_MAC, "dev", vxlan, "dst", "10.97.0.66");
    let r = await driver.sync({ networks: [net()] });
    assert.deepEqual([r.networks[0].kinds.fdb.updated, r.networks[0].kinds.fdb.repaired], [1, 1]);
    sh("bridge", "-n", NS, "fdb", "append", PEER_MAC, "dev", vxlan, "dst", "10.97.0.67");
    const remotes = () =>
      sh("bridge", "-n", NS, "fdb", "show", "dev", vxlan)
        .split("\n")
        .filter((l) => l.startsWith(PEER_MAC));
    if (remotes().length > 1) {
      // This kernel kept the appended remote: the driver must clear it.
      r = await driver.sync({ networks: [net()] });
      assert.equal(r.networks[0].kinds.fdb.updated, 1);
    }
    assert.deepEqual(remotes(), [`${PEER_MAC} dst 10.97.0.2 self permanent`]);
  });

  it("moves a peer to a new VTEP and changes MTU in place", async () => {
    const moved = net({ mtu: 1400, floodPeers: ["10.97.0.3"], fdb: [{ mac: PEER_MAC, dst: "10.97.0.3" }] });
    const r = await driver.sync({ networks: [moved] });
    const k = r.networks[0].kinds;
    assert.deepEqual([k.flood.added, k.flood.removed, k.fdb.updated, k.vxlan.updated, k.bridge.updated], [1, 1, 1, 1, 1]);
    assert.match(sh("ip", "-n", NS, "link", "show", "dev", vxlan), /mtu 1400/);
    assert.equal((await driver.sync({ networks: [moved] })).writes, 0);
  });

  it("removes its own network and leaves foreign devices, neighbours and routes alone", async () => {
    assert.equal(await driver.removeNetwork("amber"), true);
    assert.equal(await driver.removeNetwork("amber"), false);
    const r = await driver.sync({ networks: [] });
    assert.equal(r.writes, 0);
    assert.match(sh("ip", "-n", NS, "neigh", "show", "dev", "br-foreign"), /10\.96\.0\.9 lladdr 02:00:00:00:00:09 PERMANENT/);
    assert.match(sh("ip", "-n", NS, "route", "show"), /10\.95\.0\.0\/24 via 10\.96\.0\.9/);
    assert.doesNotMatch(sh("ip", "-n", NS, "link", "show"), /kbr-|kvx-/);
  });
});
