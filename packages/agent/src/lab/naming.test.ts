import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseCidr } from "@kumo/api";
import { agentArgv, isAgentCmdline } from "./agent-process.js";
import { hostNet } from "./host-netns.js";
import { candidateSubnets, labNames, labPrefix, MAX_HOST_INDEX } from "./naming.js";
import { labKind } from "./reap.js";
import { hostAddress, pickSubnet } from "./underlay.js";

describe("lab naming", () => {
  it("uses kumo for the default home and a short hash elsewhere", () => {
    assert.equal(labPrefix("/var/lib/kumo"), "kumo");
    assert.equal(labPrefix("/var/lib/kumo/"), "kumo");
    assert.match(labPrefix("/tmp/a"), /^k[0-9a-f]{6}$/);
    assert.notEqual(labPrefix("/tmp/a"), labPrefix("/tmp/b"));
    assert.equal(labPrefix("/tmp/a"), labPrefix("/tmp/x/../a/"));
  });

  it("keeps every link name within 15 characters", () => {
    for (const home of ["/var/lib/kumo", "/a/very/long/path/to/some/kumo/home/directory"]) {
      const n = labNames(home);
      assert.ok(n.bridge.length <= 15, n.bridge);
      assert.ok(n.veth(MAX_HOST_INDEX).length <= 15, n.veth(MAX_HOST_INDEX));
    }
    const n = labNames("/var/lib/kumo");
    assert.equal(n.host(1), "kumo-host-1");
    assert.equal(n.bridge, "kumo-ul");
  });

  it("recognises only its own names", () => {
    const n = labNames("/var/lib/kumo");
    const other = labNames("/tmp/other");
    assert.equal(n.hostIndex("kumo-host-3"), 3);
    for (const x of ["kumo-host-0", "kumo-host-03", "kumo-host-251", "kumo-host-1x", other.host(1), "xkumo-host-1"]) {
      assert.equal(n.hostIndex(x), undefined, x);
    }
    assert.equal(n.vethIndex("kumo-v12"), 12);
    assert.equal(n.vethIndex(other.veth(12)), undefined);
    assert.ok(n.isPortNetns("kumo-p-1a2b3c4d"));
    assert.ok(n.isPortNetns("kumo-host-2-p-1a2b3c4d"));
    assert.ok(!n.isPortNetns(`${other.prefix}-p-1a2b3c4d`));
    assert.ok(!n.isPortNetns("kumo-pp-1"));
  });
});

describe("lab addressing", () => {
  it("starts the default home at 10.200.0.0/24 and gives host i gateway+i", () => {
    assert.equal(candidateSubnets("kumo").next().value, "10.200.0.0/24");
    const u = { bridge: "kumo-ul", cidr: "10.200.0.0/24", gateway: "10.200.0.1" };
    assert.equal(hostAddress(u, 1), "10.200.0.2");
    assert.equal(hostAddress(u, MAX_HOST_INDEX), "10.200.0.251");
  });

  it("skips subnets that a route already covers", () => {
    const used = ["10.200.0.0/24", "10.200.1.128/25", "192.168.0.0/16"].map((c) => parseCidr(c)!);
    assert.equal(pickSubnet("kumo", used), "10.200.2.0/24");
    assert.equal(pickSubnet("kumo", [parseCidr("10.200.0.0/16")!]), "10.201.0.0/24");
    assert.throws(() => pickSubnet("kumo", [parseCidr("10.0.0.0/8")!]), /no free \/24/);
  });

  it("gives two homes different preferred subnets", () => {
    const a = candidateSubnets(labPrefix("/tmp/home-a")).next().value;
    const b = candidateSubnets(labPrefix("/tmp/home-b")).next().value;
    assert.notEqual(a, b);
    assert.match(a, /^10\.(2[0-4][0-9]|25[0-4])\.\d+\.0\/24$/);
  });
});

describe("lab process identity", () => {
  const n = labNames("/tmp/kumo-x");
  const u = { bridge: n.bridge, cidr: "10.201.0.0/24", gateway: "10.201.0.1" };
  const argv = agentArgv(n, hostNet(n, u, 2), { serverUrl: "https://10.201.0.1:6443", caFile: "/c", tokenFile: "/t", repoRoot: "/repo" });

  it("builds the agent contract argv", () => {
    const at = (flag: string) => argv[argv.indexOf(flag) + 1];
    assert.equal(argv[1], "/repo/packages/agent/dist/main.js");
    assert.equal(at("--name"), n.host(2));
    assert.equal(at("--underlay-ip"), "10.201.0.3");
    assert.equal(at("--underlay-dev"), "eth0");
    assert.equal(at("--state-dir"), `/tmp/kumo-x/hosts/${n.host(2)}/state`);
  });

  it("accepts a pid as the agent only with the main and its host name", () => {
    assert.ok(isAgentCmdline(argv, n.host(2)));
    assert.ok(!isAgentCmdline(argv, n.host(1)));
    assert.ok(!isAgentCmdline(["sleep", "100", "--name", n.host(2)], n.host(2)));
    assert.ok(isAgentCmdline(["node", "/t/fake.mjs", "--name", "h"], "h", "/t/fake.mjs"));
  });

  it("classifies lab process kinds", () => {
    assert.equal(labKind(argv), "agent");
    assert.equal(labKind(["/usr/sbin/dnsmasq", "--conf-file=/dev/null"]), "dnsmasq");
    assert.equal(labKind(["busybox", "udhcpc", "-i", "eth0"]), "udhcpc");
    assert.equal(labKind(["qemu-system-x86_64", "-name", "x"]), "qemu");
    assert.equal(labKind(["ip", "netns", "exec", "kumo-host-1", "dnsmasq", "--conf-file=/dev/null"]), "dnsmasq");
    assert.equal(labKind(["ip", "netns", "exec", "kumo-host-1", "sleep", "1"]), undefined);
    assert.equal(labKind(["bash"]), undefined);
    assert.equal(labKind(["node", "/srv/other.js"]), undefined);
  });
});
