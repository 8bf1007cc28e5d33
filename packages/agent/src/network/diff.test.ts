import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { diff, type AppliedState, type Plan } from "./diff.js";
import { emptyObserved, type ObservedHost } from "./ip-json.js";
import { deviceNames, type HostNetworkState, type NetworkDataplane } from "./types.js";
import { InvalidDesiredState, validateDesired } from "./validate.js";

const net = (over: Partial<NetworkDataplane> = {}): NetworkDataplane => ({
  name: "blue",
  vni: 42,
  mtu: 1450,
  ...deviceNames(42),
  localVtep: "192.168.77.1",
  underlayDev: "eth0",
  addresses: ["10.250.0.1/24"],
  floodPeers: ["192.168.77.2", "192.168.77.3"],
  fdb: [
    { mac: "02:00:00:00:00:12", dst: "192.168.77.2" },
    { mac: "02:00:00:00:00:13", dst: "192.168.77.3" },
  ],
  neighbours: [
    { ip: "10.250.0.12", mac: "02:00:00:00:00:12" },
    { ip: "10.250.0.13", mac: "02:00:00:00:00:13" },
  ],
  routes: [],
  ...over,
});

/** A host with only its underlay device. */
function bare(): ObservedHost {
  const o = emptyObserved();
  o.links.add("eth0");
  return o;
}

/** The ObservedHost a kernel holds after every line of a perfect sync of `d`. */
function kernelOf(d: HostNetworkState): ObservedHost {
  const o = bare();
  for (const n of validateDesired(d).networks) {
    o.bridges.set(n.bridge, { name: n.bridge, mtu: n.mtu, up: true, network: n.name, addresses: [...n.addresses] });
    o.vxlans.set(n.vxlan, {
      name: n.vxlan,
      vni: n.vni,
      local: n.localVtep,
      dev: n.underlayDev,
      port: 8472,
      learning: false,
      proxy: true,
      mtu: n.mtu,
      up: true,
      master: n.bridge,
    });
    o.flood.set(n.vxlan, new Set(n.floodPeers));
    o.fdb.set(n.vxlan, new Map(n.fdb.map((e) => [e.mac, e.dst])));
    o.neighbours.set(n.vxlan, new Map(n.neighbours.map((e) => [e.ip, e.mac])));
    o.routes.set(n.bridge, new Map((n.routes ?? []).map((r) => [r.dst, r.via ?? ""])));
  }
  return o;
}

const lines = (p: Plan) => [...p.linkLines, ...p.ipLines, ...p.bridgeLines].map((l) => l.line);
const run = (d: HostNetworkState, o: ObservedHost, last: AppliedState = new Map()) => diff(validateDesired(d), o, last);

describe("diff", () => {
  it("creates a network from nothing, FDB with replace and flood with append", () => {
    const p = run({ networks: [net()] }, bare());
    assert.deepEqual(
      p.linkLines.map((l) => l.line),
      [
        "link add kbr-42 type bridge",
        "link set dev kbr-42 mtu 1450 alias kumo-net=blue up",
        "link add kvx-42 type vxlan id 42 local 192.168.77.1 dev eth0 dstport 8472 nolearning proxy",
        "link set dev kvx-42 mtu 1450 master kbr-42 up",
        "addr replace 10.250.0.1/24 dev kbr-42",
      ],
    );
    assert.deepEqual(
      p.ipLines.map((l) => l.line),
      [
        "neigh replace 10.250.0.12 lladdr 02:00:00:00:00:12 dev kvx-42 nud permanent",
        "neigh replace 10.250.0.13 lladdr 02:00:00:00:00:13 dev kvx-42 nud permanent",
      ],
    );
    assert.deepEqual(p.bridgeLines.map((l) => l.line).sort(), [
      "fdb append 00:00:00:00:00:00 dev kvx-42 dst 192.168.77.2",
      "fdb append 00:00:00:00:00:00 dev kvx-42 dst 192.168.77.3",
      "fdb replace 02:00:00:00:00:12 dev kvx-42 dst 192.168.77.2",
      "fdb replace 02:00:00:00:00:13 dev kvx-42 dst 192.168.77.3",
    ]);
    assert.equal(p.bridgeAfterIp, true, "FDB needs the VXLAN device created first");
    const k = p.reports[0].kinds;
    assert.deepEqual([k.fdb.desired, k.fdb.actualBefore, k.fdb.added, k.fdb.repaired], [2, 0, 2, 0]);
  });

  it("writes nothing when the kernel already matches (agent restart)", () => {
    const d = { networks: [net({ routes: [{ dst: "10.9.0.0/16", via: "10.250.0.254" }] })] };
    const p = run(d, kernelOf(d));
    assert.deepEqual(lines(p), []);
    assert.equal(p.bridgeAfterIp, false);
    assert.equal(p.reports[0].kinds.neighbour.actualBefore, 2);
  });

  it("normalises input so upper-case MACs and /32 routes still diff to nothing", () => {
    const d = { networks: [net({ fdb: [{ mac: "02:00:00:00:00:AB", dst: "192.168.77.2" }], routes: [{ dst: "10.9.9.9/32" }] })] };
    const o = kernelOf(d);
    assert.equal([...o.fdb.get("kvx-42")!.keys()][0], "02:00:00:00:00:ab");
    assert.deepEqual([...o.routes.get("kbr-42")!.keys()], ["10.9.9.9"]);
    assert.deepEqual(lines(run(d, o)), []);
  });

  it("counts an entry the last sync wrote and that vanished as a drift repair", () => {
    const d = { networks: [net()] };
    const first = run(d, bare());
    const o = kernelOf(d);
    o.fdb.get("kvx-42")!.delete("02:00:00:00:00:12");
    o.neighbours.get("kvx-42")!.delete("10.250.0.13");
    const p = run(d, o, first.applied);
    assert.deepEqual(lines(p), [
      "neigh replace 10.250.0.13 lladdr 02:00:00:00:00:13 dev kvx-42 nud permanent",
      "fdb replace 02:00:00:00:00:12 dev kvx-42 dst 192.168.77.2",
    ]);
    assert.equal(p.reports[0].kinds.fdb.repaired, 1);
    assert.equal(p.reports[0].kinds.neighbour.repaired, 1);
    // Without a previous sync the same gap is a plain add, not a repair.
    assert.equal(run(d, o).reports[0].kinds.fdb.repaired, 0);
  });

  it("moves a peer with fdb replace and clears a MAC holding several remotes first", () => {
    const d = { networks: [net()] };
    const o = kernelOf(d);
    o.fdb.get("kvx-42")!.set("02:00:00:00:00:12", "192.168.77.9");
    o.fdb.get("kvx-42")!.set("02:00:00:00:00:13", "192.168.77.3,192.168.77.9");
    const p = run(d, o);
    assert.deepEqual(
      p.bridgeLines.map((l) => l.line),
      [
        "fdb replace 02:00:00:00:00:12 dev kvx-42 dst 192.168.77.2",
        "fdb del 02:00:00:00:00:13 dev kvx-42",
        "fdb replace 02:00:00:00:00:13 dev kvx-42 dst 192.168.77.3",
      ],
    );
    assert.equal(p.reports[0].kinds.fdb.updated, 2);
    assert.ok(!lines(p).some((l) => l.startsWith("fdb append 02:")), "unicast entries are never appended");
  });

  it("removes entries no longer desired, one line each", () => {
    const d = { networks: [net()] };
    const o = kernelOf({ networks: [net({ addresses: ["10.250.0.1/24", "10.251.0.1/24"], routes: [{ dst: "10.9.0.0/16" }] })] });
    o.flood.get("kvx-42")!.add("192.168.77.8");
    o.fdb.get("kvx-42")!.set("02:00:00:00:00:88", "192.168.77.8");
    o.neighbours.get("kvx-42")!.set("10.250.0.88", "02:00:00:00:00:88");
    assert.deepEqual(lines(run(d, o)), [
      "addr del 10.251.0.1/24 dev kbr-42",
      "neigh del 10.250.0.88 dev kvx-42",
      "route del 10.9.0.0/16 dev kbr-42 proto 77",
      "fdb del 00:00:00:00:00:00 dev kvx-42 dst 192.168.77.8",
      "fdb del 02:00:00:00:00:88 dev kvx-42",
    ]);
  });

  it("deletes networks that are no longer desired (VXLAN before bridge), not their entries", () => {
    const o = kernelOf({ networks: [net(), net({ name: "red", vni: 7, ...deviceNames(7) })] });
    const p = run({ networks: [net()] }, o);
    assert.deepEqual(lines(p), ["link del dev kvx-7", "link del dev kbr-7"]);
    const red = p.reports.find((r) => r.name === "red")!;
    assert.equal(red.removed, true);
    assert.equal(red.kinds.fdb.removed, 2);
  });

  it("recreates a VXLAN device whose VNI or VTEP changed and rewrites its entries", () => {
    const d = { networks: [net()] };
    const o = kernelOf(d);
    o.vxlans.get("kvx-42")!.local = "192.168.77.50";
    const p = run(d, o);
    assert.deepEqual(
      p.linkLines.map((l) => l.line),
      [
        "link del dev kvx-42",
        "link add kvx-42 type vxlan id 42 local 192.168.77.1 dev eth0 dstport 8472 nolearning proxy",
        "link set dev kvx-42 mtu 1450 master kbr-42 up",
      ],
    );
    assert.equal(p.bridgeLines.length, 4);
    assert.equal(p.ipLines.length, 2);
    assert.equal(p.bridgeAfterIp, true);
  });

  it("does not count entries lost to its own VXLAN recreation as drift", () => {
    const before = { networks: [net()] };
    const last = run(before, bare()).applied;
    const moved = { networks: [net({ localVtep: "192.168.77.50" })] };
    const p = run(moved, kernelOf(before), last);
    assert.equal(p.reports[0].kinds.fdb.added, 2);
    assert.equal(p.reports[0].kinds.fdb.repaired, 0);
    // The same device rebuilt by hand with another VTEP is drift: the desired state did not change.
    const o = kernelOf(before);
    o.vxlans.get("kvx-42")!.local = "192.168.77.50";
    o.fdb.get("kvx-42")!.clear();
    assert.equal(run(before, o, last).reports[0].kinds.fdb.repaired, 2);
  });

  it("skips a network whose underlay device is missing (it would abort the whole ip batch)", () => {
    const p = run({ networks: [net({ underlayDev: "eth9" }), net({ name: "red", vni: 7, ...deviceNames(7) })] }, bare());
    assert.ok(!lines(p).some((l) => l.includes("kvx-42") || l.includes("kbr-42")));
    assert.ok(lines(p).includes("link add kvx-7 type vxlan id 7 local 192.168.77.1 dev eth0 dstport 8472 nolearning proxy"));
    assert.deepEqual(p.problems, ["network blue: underlay device eth9 not found; nothing written"]);
    assert.equal(p.reports.find((r) => r.name === "blue")!.kinds.fdb.desired, 2);
  });

  it("fixes MTU, master and link state in place", () => {
    const d = { networks: [net()] };
    const o = kernelOf(d);
    Object.assign(o.vxlans.get("kvx-42")!, { up: false, master: undefined });
    o.bridges.get("kbr-42")!.mtu = 1500;
    assert.deepEqual(lines(run(d, o)), [
      "link set dev kbr-42 mtu 1450 alias kumo-net=blue up",
      "link set dev kvx-42 mtu 1450 master kbr-42 up",
    ]);
  });
});

describe("validateDesired", () => {
  it("rejects values that could inject batch commands and lists every problem", () => {
    const bad = net({
      fdb: [{ mac: "02:00:00:00:00:12\nlink del dev eth0", dst: "192.168.77.2" }],
      localVtep: "1.2.3.4 dev x",
      bridge: "eth0",
    });
    assert.throws(
      () => validateDesired({ networks: [bad] }),
      (e: unknown) => {
        assert.ok(e instanceof InvalidDesiredState);
        assert.equal(e.problems.length, 3, e.problems.join("\n"));
        return true;
      },
    );
  });

  it("rejects conflicting duplicates and duplicate VNIs", () => {
    assert.throws(
      () =>
        validateDesired({
          networks: [
            net({
              fdb: [
                { mac: "02:00:00:00:00:12", dst: "192.168.77.2" },
                { mac: "02:00:00:00:00:12", dst: "192.168.77.3" },
              ],
            }),
          ],
        }),
      /conflicting/,
    );
    assert.throws(() => validateDesired({ networks: [net(), net({ name: "red" })] }), /duplicate vni/);
  });
});
