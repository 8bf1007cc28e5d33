/**
 * DnsmasqDriver on a real dnsmasq (root): start, lease, SIGHUP reload on host changes (same pid),
 * adoption by a fresh driver after an "agent restart" (no second daemon), restart only when the
 * command line changes, unknown MACs refused and counted, stale leases released, removal by pid.
 */
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { plugPort, portExec, runDhcpClient, unplugPort } from "../network/port-plug.js";
import { addNetns, Cleanup, sh, skipUnlessRoot, uniquePrefix } from "../network/test-support.js";
import { DnsmasqDriver } from "./dnsmasq.js";
import { pidAlive as procAlive } from "@kumo/runtime/proc";
import type { DhcpNetworkConfig } from "./types.js";

const skip = skipUnlessRoot(["ip", "dnsmasq", "busybox"]);
const P = uniquePrefix();
const HOST = `${P}-h`;
const ports = [
  { ns: `${P}-a`, if: `${P}-a`, mac: "02:6b:00:00:01:01", ip: "10.251.0.11", name: "alpha" },
  { ns: `${P}-b`, if: `${P}-b`, mac: "02:6b:00:00:01:02", ip: "10.251.0.12", name: "beta" },
];
const cfg = (over: Partial<DhcpNetworkConfig> = {}): DhcpNetworkConfig => ({
  network: "green",
  project: "demo",
  interface: "kbr-7",
  cidr: "10.251.0.0/24",
  serverAddress: "10.251.0.1",
  gateway: "10.251.0.1",
  mtu: 1450,
  leaseTime: "1h",
  hosts: [{ mac: ports[0].mac, ip: ports[0].ip, name: "alpha" }],
  ...over,
});

/** Pids of live dnsmasq processes whose command line names `pidFile` (ours only). */
async function daemonsFor(pidFile: string): Promise<number[]> {
  const pids: number[] = [];
  for (const d of await readdir("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = await readFile(`/proc/${d}/cmdline`, "utf8").catch(() => "");
    if (cmd.includes(`--pid-file=${pidFile}\0`) && (await procAlive(Number(d)))) pids.push(Number(d));
  }
  return pids;
}

describe("DnsmasqDriver", { skip }, () => {
  const cleanup = new Cleanup();
  const stateDir = join(tmpdir(), `${P}-dhcp`);
  const pidFile = join(stateDir, "green", "dnsmasq.pid");
  let driver: DnsmasqDriver;

  before(() => {
    cleanup.add(() => rm(stateDir, { recursive: true, force: true }));
    cleanup.add(() => rm(`${stateDir}-udhcpc`, { recursive: true, force: true }));
    addNetns(cleanup, HOST);
    sh("ip", "-n", HOST, "link", "add", "kbr-7", "type", "bridge");
    sh("ip", "-n", HOST, "addr", "add", "10.251.0.1/24", "dev", "kbr-7");
    sh("ip", "-n", HOST, "link", "set", "kbr-7", "up");
    for (const p of ports) cleanup.add(() => unplugPort({ hostNetns: HOST, portNetns: p.ns, ifName: p.if }));
    // Every driver instance below manages the same state dir; stopping through a fresh one kills by pid file.
    cleanup.add(() => new DnsmasqDriver({ stateDir, netns: HOST }).stopAll());
    driver = new DnsmasqDriver({ stateDir, netns: HOST });
  });
  after(() => cleanup.run());

  it("starts once, leases the known MAC, and reports the lease and the exchange", async () => {
    assert.equal(await driver.ensure(cfg()), "started");
    const a = ports[0];
    await plugPort({ hostNetns: HOST, portNetns: a.ns, bridge: "kbr-7", mac: a.mac, mtu: 1450, ifName: a.if });
    const lease = await runDhcpClient(a.ns, { stateDir: `${stateDir}-udhcpc`, timeoutMs: 5000 });
    assert.equal(lease.ip, a.ip);
    assert.equal(lease.domain, "green.demo.kumo");
    const s = (await driver.observe()).networks[0];
    assert.equal(s.running, true);
    assert.deepEqual(
      s.leases.map((l) => [l.mac, l.ip, l.name]),
      [[a.mac, a.ip, "alpha"]],
    );
    assert.ok(s.counters.discover >= 1 && s.counters.request >= 1 && s.counters.ack >= 1, JSON.stringify(s.counters));
    assert.equal(s.counters.noAddress, 0);
    assert.equal(driver.snapshot().networks.green.leases, 1);
    assert.equal(await driver.ensure(cfg()), "unchanged");
  });

  it("reloads with SIGHUP (same pid) when only hosts change, and serves the new name", async () => {
    const [pid] = await daemonsFor(pidFile);
    const b = ports[1];
    const withBeta = cfg({ hosts: [...cfg().hosts, { mac: b.mac, ip: b.ip, name: b.name }] });
    assert.equal(await driver.ensure(withBeta), "reloaded");
    assert.deepEqual(await daemonsFor(pidFile), [pid]);
    const r = await portExec(ports[0].ns, ["busybox", "nslookup", "beta.green.demo.kumo", "10.251.0.1"]);
    assert.match(r.stdout, /10\.251\.0\.12/);
  });

  it("is adopted by a fresh driver (agent restart) instead of started twice", async () => {
    const before = await daemonsFor(pidFile);
    const fresh = new DnsmasqDriver({ stateDir, netns: HOST });
    const withBeta = cfg({ hosts: [...cfg().hosts, { mac: ports[1].mac, ip: ports[1].ip, name: "beta" }] });
    assert.equal(await fresh.ensure(withBeta), "adopted");
    assert.deepEqual(await daemonsFor(pidFile), before);
    assert.equal(before.length, 1);
    assert.equal(fresh.snapshot().totals.adoptions, 1);
    driver = fresh;
  });

  it("refuses an unknown MAC and counts 'no address available'", async () => {
    const b = ports[1];
    await plugPort({ hostNetns: HOST, portNetns: b.ns, bridge: "kbr-7", mac: "02:6b:00:00:01:99", mtu: 1450, ifName: b.if });
    await assert.rejects(runDhcpClient(b.ns, { stateDir: `${stateDir}-udhcpc`, timeoutMs: 2000 }), /no lease/);
    const s = (await driver.observe()).networks[0];
    assert.ok(s.counters.noAddress >= 1, JSON.stringify(s.counters));
    assert.equal(driver.snapshot().networks.green.counters.noAddress, s.counters.noAddress);
  });

  it("releases the lease of a removed port so its address can go to another MAC at once", async () => {
    const b = ports[1];
    // alpha's port is gone; its address now belongs to the port in b's netns (MAC ...:99).
    const reused = cfg({ hosts: [{ mac: "02:6b:00:00:01:99", ip: ports[0].ip, name: "gamma" }] });
    assert.equal(await driver.ensure(reused), "reloaded");
    assert.equal(driver.snapshot().totals.releases, 1);
    const lease = await runDhcpClient(b.ns, { stateDir: `${stateDir}-udhcpc`, timeoutMs: 5000 });
    assert.equal(lease.ip, ports[0].ip);
    const leases = (await driver.observe()).networks[0].leases;
    assert.deepEqual(
      leases.map((l) => [l.mac, l.ip]),
      [["02:6b:00:00:01:99", ports[0].ip]],
    );
  });

  it("restarts only when the command line changes, then removes by pid", async () => {
    const [old] = await daemonsFor(pidFile);
    assert.equal(await driver.ensure(cfg({ mtu: 1400 })), "restarted");
    const now = await daemonsFor(pidFile);
    assert.equal(now.length, 1);
    assert.notEqual(now[0], old);
    assert.equal(await procAlive(old), false);
    await driver.remove("green");
    assert.deepEqual(await daemonsFor(pidFile), []);
    assert.deepEqual((await driver.observe()).networks, []);
  });
});
