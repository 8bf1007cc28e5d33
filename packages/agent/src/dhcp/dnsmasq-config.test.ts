import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addnHostsContent, dnsmasqArgs, dnsmasqPaths, hostsFileContent, splitCidr, validateDhcpConfig } from "./dnsmasq-config.js";
import type { DhcpNetworkConfig } from "./types.js";

const cfg = (over: Partial<DhcpNetworkConfig> = {}): DhcpNetworkConfig => ({
  network: "blue",
  project: "demo",
  interface: "kbr-42",
  cidr: "10.250.0.0/24",
  serverAddress: "10.250.0.1",
  gateway: "10.250.0.1",
  mtu: 1450,
  hosts: [
    { mac: "02:6B:00:00:00:12", ip: "10.250.0.12", name: "web2" },
    { mac: "02:6b:00:00:00:11", ip: "10.250.0.11", name: "web1" },
  ],
  dnsRecords: [{ ip: "10.250.0.13", name: "db" }],
  ...over,
});

describe("dnsmasq config", () => {
  it("computes network address and mask", () => {
    assert.deepEqual(splitCidr("10.250.3.7/22"), { network: "10.250.0.0", mask: "255.255.252.0", prefix: 22 });
    assert.deepEqual(splitCidr("0.0.0.0/0"), { network: "0.0.0.0", mask: "0.0.0.0", prefix: 0 });
    assert.throws(() => splitCidr("10.0.0.0/33"));
  });

  it("builds the LAB-NOTES command line: static range, options, domain, files", () => {
    const a = dnsmasqArgs(cfg(), dnsmasqPaths("/run/kumo/dhcp", "blue"));
    for (const want of [
      "--interface=kbr-42",
      "--bind-interfaces",
      "--dhcp-range=set:blue,10.250.0.0,static,255.255.255.0,12h",
      "--dhcp-hostsfile=/run/kumo/dhcp/blue/dhcp-hosts",
      "--dhcp-option=tag:blue,option:router,10.250.0.1",
      "--dhcp-option=tag:blue,option:dns-server,10.250.0.1",
      "--dhcp-option-force=tag:blue,option:mtu,1450",
      "--domain=blue.demo.kumo",
      "--local=/blue.demo.kumo/",
      "--addn-hosts=/run/kumo/dhcp/blue/addn-hosts",
      "--log-dhcp",
      "--pid-file=/run/kumo/dhcp/blue/dnsmasq.pid",
    ])
      assert.ok(a.includes(want), `missing ${want} in ${a.join(" ")}`);
    assert.ok(!dnsmasqArgs(cfg({ gateway: undefined }), dnsmasqPaths("/s", "blue")).some((x) => x.includes("option:router")));
  });

  it("keeps the command line independent of hosts, so host changes never restart", () => {
    const p = dnsmasqPaths("/s", "blue");
    assert.deepEqual(dnsmasqArgs(cfg(), p), dnsmasqArgs(cfg({ hosts: [], dnsRecords: [] }), p));
  });

  it("writes sorted host files with FQDN and short names", () => {
    assert.equal(hostsFileContent(cfg()), "02:6b:00:00:00:11,10.250.0.11,web1\n02:6b:00:00:00:12,10.250.0.12,web2\n");
    assert.equal(
      addnHostsContent(cfg()),
      "10.250.0.11 web1.blue.demo.kumo web1\n10.250.0.12 web2.blue.demo.kumo web2\n10.250.0.13 db.blue.demo.kumo db\n",
    );
  });

  it("rejects values that would break the command line or files", () => {
    assert.throws(
      () => validateDhcpConfig(cfg({ hosts: [{ mac: "02:6b:00:00:00:11", ip: "10.250.0.11", name: "a b\n1.2.3.4 evil" }] })),
      /hosts\[0\]\.name/,
    );
    assert.throws(() => validateDhcpConfig(cfg({ network: "../etc" })), /network/);
    assert.throws(() => validateDhcpConfig(cfg({ gateway: "10.0.0.1,option:x" })), /gateway/);
    validateDhcpConfig(cfg());
  });
});
