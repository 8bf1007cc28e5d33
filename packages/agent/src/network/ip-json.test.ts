import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseObserved, splitJsonValues, toHostState } from "./ip-json.js";

// Trimmed real output of `ip -json -details -batch -` (addr, neigh, route) and `bridge -json fdb show`.
const links = [
  {
    ifname: "eth0",
    flags: ["UP"],
    mtu: 1500,
    linkinfo: { info_kind: "veth" },
    addr_info: [{ family: "inet", local: "192.168.77.1", prefixlen: 24, scope: "global" }],
  },
  {
    ifname: "kbr-42",
    flags: ["BROADCAST", "UP"],
    mtu: 1450,
    ifalias: "kumo-net=blue",
    linkinfo: { info_kind: "bridge", info_data: {} },
    addr_info: [
      { family: "inet", local: "10.250.0.1", prefixlen: 24, scope: "global" },
      { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" },
    ],
  },
  {
    ifname: "kvx-42",
    flags: ["BROADCAST"],
    mtu: 1450,
    master: "kbr-42",
    linkinfo: { info_kind: "vxlan", info_data: { id: 42, local: "192.168.77.1", link: "eth0", port: 8472, learning: false, proxy: true } },
  },
];
const neigh = [
  { dst: "10.250.0.12", dev: "kvx-42", lladdr: "02:00:00:00:00:12", state: ["PERMANENT"] },
  { dst: "192.168.77.2", dev: "eth0", lladdr: "aa:bb:cc:dd:ee:ff", state: ["PERMANENT"] },
];
const routes = [{ dst: "10.9.0.0/16", gateway: "10.250.0.254", dev: "kbr-42", flags: [] }];
const fdb = [
  { mac: "33:33:00:00:00:01", ifname: "eth0", flags: ["self"], state: "permanent" },
  { mac: "c6:cd:9a:b1:41:f6", ifname: "kvx-42", flags: [], master: "kbr-42", state: "permanent" },
  { mac: "02:00:00:00:00:12", ifname: "kvx-42", dst: "192.168.77.2", flags: ["self"], state: "permanent" },
  { mac: "00:00:00:00:00:00", ifname: "kvx-42", dst: "192.168.77.2", flags: ["self"], state: "permanent" },
  { mac: "00:00:00:00:00:00", ifname: "kvx-42", dst: "192.168.77.3", flags: ["self"], state: "permanent" },
];
const ipOut = [links, neigh, routes].map((v) => JSON.stringify(v)).join("\n") + "\n";

describe("ip-json", () => {
  it("splits concatenated arrays, ignoring brackets inside strings", () => {
    assert.deepEqual(splitJsonValues('[{"a":"]["}]\n[]\n[{"b":"\\"]"}]\n'), [[{ a: "][" }], [], [{ b: '"]' }]]);
    assert.throws(() => splitJsonValues('[{"a":1}'), /truncated/);
  });

  it("keeps only kumo-owned devices and the entries hanging off them", () => {
    const o = parseObserved(ipOut, JSON.stringify(fdb));
    assert.deepEqual([...o.bridges.keys(), ...o.vxlans.keys()], ["kbr-42", "kvx-42"]);
    assert.deepEqual(o.bridges.get("kbr-42"), { name: "kbr-42", mtu: 1450, up: true, network: "blue", addresses: ["10.250.0.1/24"] });
    assert.deepEqual(o.vxlans.get("kvx-42"), {
      name: "kvx-42",
      mtu: 1450,
      up: false,
      vni: 42,
      local: "192.168.77.1",
      dev: "eth0",
      port: 8472,
      learning: false,
      proxy: true,
      master: "kbr-42",
    });
    assert.deepEqual([...o.neighbours.get("kvx-42")!], [["10.250.0.12", "02:00:00:00:00:12"]]);
    assert.deepEqual([...o.flood.get("kvx-42")!], ["192.168.77.2", "192.168.77.3"]);
    assert.deepEqual([...o.fdb.get("kvx-42")!], [["02:00:00:00:00:12", "192.168.77.2"]], "the bridge's own master entry is not ours");
    assert.deepEqual([...o.routes.get("kbr-42")!], [["10.9.0.0/16", "10.250.0.254"]]);
  });

  it("groups into the desired-state shape", () => {
    const s = toHostState(parseObserved(ipOut, JSON.stringify(fdb)));
    assert.equal(s.networks.length, 1);
    assert.deepEqual(
      { ...s.networks[0], floodPeers: s.networks[0].floodPeers.length },
      {
        name: "blue",
        vni: 42,
        mtu: 1450,
        bridge: "kbr-42",
        vxlan: "kvx-42",
        localVtep: "192.168.77.1",
        underlayDev: "eth0",
        dstPort: 8472,
        addresses: ["10.250.0.1/24"],
        floodPeers: 2,
        fdb: [{ mac: "02:00:00:00:00:12", dst: "192.168.77.2" }],
        neighbours: [{ ip: "10.250.0.12", mac: "02:00:00:00:00:12" }],
        routes: [{ dst: "10.9.0.0/16", via: "10.250.0.254" }],
      },
    );
  });
});
