/**
 * End to end on real kernels (root): two "hosts" (netns) on an underlay bridge the test makes,
 * the driver programs a VXLAN network on both, a port netns is plugged on each host, dnsmasq
 * leases it an address, and the ports ping and resolve each other across the overlay. Every
 * address lives inside namespaces named `kt-<random>-*`, all removed in `after`.
 */
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { DnsmasqDriver } from "../dhcp/dnsmasq.js";
import type { DhcpNetworkConfig } from "../dhcp/types.js";
import { LinuxNetworkDriver } from "./linux-driver.js";
import { plugPort, portExec, portIfName, runDhcpClient, unplugPort } from "./port-plug.js";
import { addNetns, Cleanup, sh, skipUnlessRoot, status, uniquePrefix } from "./test-support.js";
import { deviceNames, type NetworkDataplane } from "./types.js";

const skip = skipUnlessRoot(["ip", "bridge", "dnsmasq", "busybox", "ping"]);
const P = uniquePrefix();
const VNI = 4242;
const { bridge, vxlan } = deviceNames(VNI);
const hosts = [1, 2].map((i) => ({
  ns: `${P}-h${i}`,
  vtep: `192.168.77.${i}`,
  gw: `10.250.0.${i}`,
  port: { name: `web${i}`, ns: `${P}-p${i}`, mac: `02:6b:00:00:00:1${i}`, ip: `10.250.0.1${i}` },
}));

/** Desired dataplane of host `i`: everything about the other host's port, nothing about its own. */
function desired(i: number): NetworkDataplane {
  const me = hosts[i],
    peer = hosts[1 - i];
  return {
    name: "blue",
    vni: VNI,
    mtu: 1450,
    bridge,
    vxlan,
    localVtep: me.vtep,
    underlayDev: "eth0",
    addresses: [`${me.gw}/24`],
    floodPeers: [peer.vtep],
    fdb: [{ mac: peer.port.mac, dst: peer.vtep }],
    neighbours: [{ ip: peer.port.ip, mac: peer.port.mac }],
  };
}

function dhcpConfig(i: number): DhcpNetworkConfig {
  const me = hosts[i],
    peer = hosts[1 - i];
  return {
    network: "blue",
    project: "demo",
    interface: bridge,
    cidr: "10.250.0.0/24",
    serverAddress: me.gw,
    gateway: me.gw,
    mtu: 1450,
    hosts: [{ mac: me.port.mac, ip: me.port.ip, name: me.port.name }],
    dnsRecords: [{ ip: peer.port.ip, name: peer.port.name }],
  };
}

describe("overlay across two namespace hosts", { skip }, () => {
  const cleanup = new Cleanup();
  const stateDir = join(tmpdir(), `${P}-state`);
  const drivers = hosts.map((h) => new LinuxNetworkDriver({ netns: h.ns }));
  const dhcp = hosts.map((h) => new DnsmasqDriver({ stateDir: join(stateDir, h.ns), netns: h.ns }));

  before(() => {
    cleanup.add(() => rm(stateDir, { recursive: true, force: true }));
    const ul = addNetns(cleanup, `${P}-ul`);
    sh("ip", "-n", ul, "link", "add", "ul", "type", "bridge");
    sh("ip", "-n", ul, "link", "set", "ul", "up");
    hosts.forEach((h, i) => {
      addNetns(cleanup, h.ns);
      sh("ip", "-n", ul, "link", "add", `v${i}`, "type", "veth", "peer", "name", "eth0", "netns", h.ns);
      sh("ip", "-n", ul, "link", "set", `v${i}`, "master", "ul", "up");
      sh("ip", "-n", h.ns, "addr", "add", `${h.vtep}/24`, "dev", "eth0");
      sh("ip", "-n", h.ns, "link", "set", "eth0", "up");
      // Port netns are made by plugPort; register their removal now so a failing test still cleans up.
      cleanup.add(() => unplugPort({ hostNetns: h.ns, portNetns: h.port.ns, ifName: portIfName(h.port.name) }));
    });
    cleanup.add(() => Promise.all(dhcp.map((d) => d.stopAll())));
  });
  after(() => cleanup.run());

  it("programs both hosts, plugs ports, leases addresses and pings across VXLAN", async () => {
    for (const [i, d] of drivers.entries()) {
      const r = await d.sync({ networks: [desired(i)] });
      assert.deepEqual(r.errors, []);
      assert.equal(r.writes, 8, "bridge 2 + vxlan 2 + address + neighbour + flood + fdb lines");
    }
    for (const [i, h] of hosts.entries()) {
      await plugPort({ hostNetns: h.ns, portNetns: h.port.ns, bridge, mac: h.port.mac, mtu: 1450, ifName: portIfName(h.port.name) });
      assert.equal(await dhcp[i].ensure(dhcpConfig(i)), "started");
      const lease = await runDhcpClient(h.port.ns, { stateDir: join(stateDir, "udhcpc"), timeoutMs: 5000 });
      assert.deepEqual(
        { ip: lease.ip, len: lease.prefixLength, router: lease.router, dns: lease.dns, mtu: lease.mtu },
        { ip: h.port.ip, len: 24, router: h.gw, dns: [h.gw], mtu: 1450 },
      );
      assert.match(sh("ip", "-n", h.port.ns, "-json", "route", "show", "default"), new RegExp(`"gateway":"${h.gw}"`));
    }
    const ping = await portExec(hosts[0].port.ns, ["ping", "-c", "3", "-i", "0.2", "-W", "2", hosts[1].port.ip]);
    assert.equal(ping.code, 0, ping.stdout + ping.stderr);
    // The remote port's ARP was answered from the neighbour table by the VXLAN `proxy` flag.
    assert.match(sh("ip", "-n", hosts[0].port.ns, "neigh", "show", hosts[1].port.ip), /02:6b:00:00:00:12/);
  });

  it("resolves port names through the host's dnsmasq from the lease's resolv.conf", async () => {
    const fqdn = `web2.blue.demo.kumo`;
    const useDig = status("which", "dig") === 0;
    const r = await portExec(hosts[0].port.ns, useDig ? ["dig", "+short", "+time=2", fqdn] : ["busybox", "nslookup", fqdn]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /10\.250\.0\.12/);
    const short = await portExec(hosts[1].port.ns, ["busybox", "nslookup", "web1"]);
    assert.match(short.stdout, /10\.250\.0\.11/);
    const missing = await portExec(hosts[0].port.ns, ["busybox", "nslookup", "nope.blue.demo.kumo"]);
    assert.match(missing.stdout + missing.stderr, /NXDOMAIN/);
  });

  it("repairs an FDB and a neighbour entry deleted by hand, and counts them", async () => {
    const h = hosts[0],
      peer = hosts[1];
    sh("bridge", "-n", h.ns, "fdb", "del", peer.port.mac, "dev", vxlan);
    sh("ip", "-n", h.ns, "neigh", "del", peer.port.ip, "dev", vxlan);
    const r = await drivers[0].sync({ networks: [desired(0)] });
    assert.equal(r.driftRepairs, 2);
    assert.equal(r.writes, 2);
    assert.deepEqual([r.networks[0].kinds.fdb.repaired, r.networks[0].kinds.neighbour.repaired], [1, 1]);
    assert.match(sh("bridge", "-n", h.ns, "fdb", "show", "dev", vxlan), new RegExp(`${peer.port.mac} dst ${peer.vtep}`));
    const snap = drivers[0].snapshot();
    assert.equal(snap.driftRepairsTotal, 2);
    assert.equal(snap.networks.blue.kinds.fdb.driftRepairsTotal, 1);
    assert.deepEqual(snap.networks.blue.kinds.fdb, { desired: 1, actual: 1, driftRepairsTotal: 1 });
    const ping = await portExec(h.port.ns, ["ping", "-c", "1", "-W", "2", peer.port.ip]);
    assert.equal(ping.code, 0);
  });

  it("makes zero writes when resynced unchanged, also by a fresh driver (agent restart)", async () => {
    // Only the VXLAN device's own ("self") entries are programmed; the bridge keeps learning MACs
    // from whatever traffic is on the wire (IPv6 router solicitations of a new veth), so those
    // entries may come and go between two reads and say nothing about the driver.
    const programmed = (ns: string) =>
      (JSON.parse(sh("bridge", "-n", ns, "-json", "fdb", "show", "dev", vxlan)) as { flags?: string[] }[]).filter((e) =>
        e.flags?.includes("self"),
      );
    for (const [i, h] of hosts.entries()) {
      const before = programmed(h.ns);
      assert.ok(before.length >= 2, "the flood entry and the peer's port are programmed");
      for (const d of [drivers[i], new LinuxNetworkDriver({ netns: h.ns })]) {
        const r = await d.sync({ networks: [desired(i)] });
        assert.equal(r.writes, 0);
        assert.equal(r.spawns, 2, "only the two reads");
        assert.equal(r.driftRepairs, 0);
      }
      assert.deepEqual(programmed(h.ns), before);
    }
  });

  it("observes what it programmed and removes a network no longer desired", async () => {
    const seen = (await drivers[1].observe()).networks;
    const want = desired(1);
    assert.deepEqual(
      seen.map((n) => ({ ...n, routes: undefined })),
      [{ ...want, dstPort: 8472, routes: undefined }],
    );
    await unplugPort({ hostNetns: hosts[1].ns, portNetns: hosts[1].port.ns, ifName: portIfName("web2") });
    const r = await drivers[1].sync({ networks: [] });
    assert.equal(r.networks[0].removed, true);
    assert.notEqual(status("ip", "-n", hosts[1].ns, "link", "show", "dev", bridge), 0);
    assert.notEqual(status("ip", "-n", hosts[1].ns, "link", "show", "dev", vxlan), 0);
    assert.deepEqual((await drivers[1].observe()).networks, []);
  });
});
