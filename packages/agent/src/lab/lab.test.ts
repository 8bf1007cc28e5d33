/**
 * Root-only: builds real labs (bridge, host namespaces, veths) for two temporary homes, with a
 * stand-in agent that reports to an HTTP server on the underlay bridge address, and checks that
 * teardown leaves no namespace, link or process behind, also after a simulated crash.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidAlive as procAlive, procCmdline, procInNetns } from "@kumo/runtime/proc";
import { sh, skipUnlessRoot, status } from "../network/test-support.js";
import { waitFor } from "../runtime/support.js";
import { addHost, destroyLab, ensureLab, labStatus, removeHost, type LabHost } from "./lab.js";
import { labNames } from "./naming.js";
import { ensureUnderlay } from "./underlay.js";

const skip = skipUnlessRoot(["ip", "ping", "sleep", "nsenter"]);
const tmp = skip ? "" : mkdtempSync(join(tmpdir(), "kumo-lab-"));
const homeA = join(tmp, "a");
const homeB = join(tmp, "b");
const A = labNames(homeA);
const B = labNames(homeB);
const fake = join(tmp, "fake-agent.mjs");
const crash = join(tmp, "crash-agent.mjs");

// Stand-in for packages/agent/dist/main.js: same argv contract; says hello to --server until it answers.
const FAKE = `
const arg = (f) => process.argv[process.argv.indexOf(f) + 1];
const hello = () => fetch(arg("--server") + "/hello?name=" + arg("--name")).catch(() => setTimeout(hello, 100));
hello();
setInterval(() => {}, 1 << 30);
process.on("SIGTERM", () => process.exit(0));
`;

const netnsOf = (prefix: string) =>
  sh("ip", "netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter((x) => x.startsWith(prefix + "-"));
const linksOf = (prefix: string) =>
  (JSON.parse(sh("ip", "-json", "link", "show")) as { ifname: string }[]).map((l) => l.ifname).filter((x) => x.startsWith(prefix + "-"));
const linkJson = (ns: string | undefined, dev: string) =>
  (
    JSON.parse(sh("ip", ...(ns ? ["-n", ns] : []), "-json", "addr", "show", "dev", dev)) as {
      master?: string;
      mtu: number;
      operstate: string;
      addr_info: { local: string; family: string }[];
    }[]
  )[0];

/** Pids still alive whose cmdline mentions a path under `home`. */
async function processesOf(home: string, extra: number[] = []): Promise<number[]> {
  const pids = sh("ps", "-e", "-o", "pid=")
    .split("\n")
    .map(Number)
    .filter((p) => p > 1);
  const out: number[] = [];
  for (const p of [...pids, ...extra]) {
    if ((await procAlive(p)) && (extra.includes(p) || (await procCmdline(p)).some((a) => a.includes(home + "/")))) out.push(p);
  }
  return out;
}

describe("host lab (root, real namespaces)", { skip }, () => {
  const started: number[] = []; // processes this test started itself (not through the lab)
  const hellos: { name: string; from: string }[] = [];
  let server: Server;
  let serverUrl = "";
  let hostsA: LabHost[] = [];

  /** Starts `argv` detached (optionally inside a netns) and records its pid for cleanup. */
  const startOwn = (argv: string[]): number => {
    const c = spawn(argv[0], argv.slice(1), { detached: true, stdio: "ignore" });
    c.unref();
    started.push(c.pid!);
    return c.pid!;
  };

  before(async () => {
    writeFileSync(fake, FAKE);
    writeFileSync(crash, "process.exit(3);\n");
    // The real `kumo up` order: underlay first, then the server on the bridge address, then hosts.
    const u = await ensureUnderlay(homeA);
    server = createServer((req, res) => {
      hellos.push({ name: new URL(req.url!, "http://x").searchParams.get("name")!, from: req.socket.remoteAddress! });
      res.end("hi");
    });
    await new Promise<void>((r) => server.listen(0, u.gateway, r));
    serverUrl = `http://${u.gateway}:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.close();
    for (const home of [homeA, homeB]) await destroyLab(home, { agentMain: fake, graceMs: 500 }).catch(() => undefined);
    for (const pid of started) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
    // If destroyLab itself is broken, still leave nothing behind: these prefixes are this run's alone.
    for (const p of [A.prefix, B.prefix]) {
      for (const ns of netnsOf(p)) status("ip", "netns", "del", ns);
      for (const l of linksOf(p)) status("ip", "link", "del", "dev", l);
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it("refuses a loopback server URL (agents in namespaces could not reach it)", async () => {
    await assert.rejects(
      addHost(homeA, { serverUrl: "https://127.0.0.1:6443", caFile: "/c", tokenFile: "/t", agentMain: fake }),
      /loopback/,
    );
  });

  it("creates hosts as namespaces on the underlay, with addresses and agents that reach the server", async () => {
    ({ hosts: hostsA } = await ensureLab({
      home: homeA,
      hosts: 2,
      serverUrl,
      caFile: "/dev/null",
      tokenFile: "/dev/null",
      agentMain: fake,
    }));
    assert.deepEqual(
      hostsA.map((h) => h.name),
      [A.host(1), A.host(2)],
    );
    for (const h of hostsA) {
      assert.ok(netnsOf(A.prefix).includes(h.netns));
      const outer = linkJson(undefined, h.veth);
      assert.equal(outer.master, A.bridge);
      const inner = linkJson(h.netns, "eth0");
      assert.equal(inner.mtu, 1500);
      assert.deepEqual(
        inner.addr_info.filter((a) => a.family === "inet").map((a) => a.local),
        [h.ip],
      );
      assert.ok(await procInNetns(h.pid, h.netns), `agent ${h.pid} runs inside ${h.netns}`);
      assert.equal(readFileSync(join(A.hostDir(h.name), "agent.pid"), "utf8").trim(), String(h.pid));
    }
    const heard = await waitFor(async () => hostsA.every((h) => hellos.some((x) => x.name === h.name && x.from === h.ip)), 5000);
    assert.ok(heard, `every agent reached ${serverUrl} from its underlay address: ${JSON.stringify(hellos)}`);
    assert.equal(status("ip", "netns", "exec", hostsA[0].netns, "ping", "-c", "1", "-W", "2", hostsA[1].ip), 0, "host 1 pings host 2");
  });

  it("is idempotent: a second ensureLab keeps the running agents", async () => {
    const again = await ensureLab({ home: homeA, hosts: 2, serverUrl, caFile: "/dev/null", tokenFile: "/dev/null", agentMain: fake });
    assert.deepEqual(
      again.hosts.map((h) => h.pid),
      hostsA.map((h) => h.pid),
    );
    const st = await labStatus(homeA, { agentMain: fake });
    assert.deepEqual(
      st.hosts.map((h) => [h.name, h.ip, h.pid]),
      hostsA.map((h) => [h.name, h.ip, h.pid]),
    );
    assert.equal(st.underlay?.up, true);
  });

  it("keeps a second home apart: other prefix, bridge and subnet; no path between them", async () => {
    // Port 9 on B's own bridge: nothing listens, so B's agent is refused without traffic leaving the lab.
    const bUrl = `http://${(await ensureUnderlay(homeB)).gateway}:9`;
    const b = await ensureLab({ home: homeB, hosts: 1, serverUrl: bUrl, caFile: "/dev/null", tokenFile: "/dev/null", agentMain: fake });
    assert.notEqual(B.prefix, A.prefix);
    assert.notEqual(b.underlay.cidr, (await labStatus(homeA)).underlay!.cidr);
    assert.ok(netnsOf(B.prefix).includes(B.host(1)));
    assert.notEqual(status("ip", "netns", "exec", B.host(1), "ping", "-c", "1", "-W", "1", hostsA[0].ip), 0);
    await assert.rejects(
      addHost(homeB, { serverUrl: bUrl, caFile: "/dev/null", tokenFile: "/dev/null", agentMain: crash, settleMs: 5000 }),
      /exited at once/,
    );
    await assert.rejects(
      addHost(homeB, { serverUrl: bUrl, caFile: "/dev/null", tokenFile: "/dev/null", agentMain: join(tmp, "none.mjs") }),
      /not built/,
    );
    assert.deepEqual(
      (await labStatus(homeB)).hosts.map((h) => h.name),
      [B.host(1)],
      "failed adds are rolled back",
    );
  });

  it("adds the next free host and removes it without a trace", async () => {
    const h3 = await addHost(homeA, { serverUrl, caFile: "/dev/null", tokenFile: "/dev/null", agentMain: fake });
    assert.equal(h3.name, A.host(3));
    assert.equal(status("ip", "netns", "exec", hostsA[0].netns, "ping", "-c", "1", "-W", "2", h3.ip), 0);
    await assert.rejects(removeHost(homeA, B.host(1)), /not a host of the lab/);
    // Probe namespaces hang off hosts by a veth: host 3's loses its eth0 with host 3, host 1's stays.
    const probe = (host: string, tag: string) => {
      const ns = `${A.prefix}-p-${tag}`;
      sh("ip", "netns", "add", ns);
      sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", `kp-${tag}`, "netns", host);
      return ns;
    };
    const [probe3, probe1] = [probe(h3.netns, "cafe0003"), probe(hostsA[0].netns, "cafe0001")];
    const deleted: string[] = [];
    const removed = await removeHost(homeA, h3.name, {
      agentMain: fake,
      graceMs: 500,
      deleteHostObject: async (name) => {
        deleted.push(name);
      },
    });
    assert.equal(removed.existed, true);
    assert.equal((await removeHost(homeA, h3.name, { agentMain: fake })).existed, false);
    assert.deepEqual(deleted, [h3.name]);
    assert.ok(!netnsOf(A.prefix).includes(h3.netns));
    assert.ok(!linksOf(A.prefix).includes(h3.veth));
    assert.equal(await procAlive(h3.pid), false);
    assert.equal(existsSync(A.hostDir(h3.name)), false);
    assert.deepEqual(
      [probe1, probe3].map((ns) => netnsOf(A.prefix).includes(ns)),
      [true, false],
    );
    assert.equal((await labStatus(homeA)).hosts.length, 2);
  });

  it("destroyLab after a crash: SIGKILLed agents, stale pid files, debris; kills only kumo's processes", async () => {
    for (const h of hostsA) process.kill(h.pid, "SIGKILL");
    await waitFor(async () => !(await procAlive(hostsA[0].pid)) && !(await procAlive(hostsA[1].pid)), 2000);
    // Host 1's pid file now names a live process that is not its agent (a reused pid).
    const bystander = startOwn(["sleep", "300"]);
    writeFileSync(join(A.hostDir(A.host(1)), "agent.pid"), `${bystander}\n`);
    // Debris of a crash: a port netns with a driver bridge and a DHCP client; a driver bridge and
    // VXLAN device in host 2, which a foreign process pins; a host netns without a dir; a lone
    // root veth.
    const portNs = `${A.prefix}-p-deadbeef`;
    sh("ip", "netns", "add", portNs);
    sh("ip", "-n", portNs, "link", "add", "kbr-1", "type", "bridge");
    sh(
      "ip",
      "-n",
      A.host(2),
      "link",
      "add",
      "kvx-5",
      "type",
      "vxlan",
      "id",
      "5",
      "local",
      hostsA[1].ip,
      "dev",
      "eth0",
      "dstport",
      "8472",
      "nolearning",
    );
    sh("ip", "-n", A.host(2), "link", "add", "kbr-5", "type", "bridge");
    sh("ip", "netns", "add", A.host(7));
    sh("ip", "link", "add", A.veth(9), "type", "veth", "peer", "name", `${A.prefix}-x9`);
    const udhcpc = join(tmp, "udhcpc");
    copyFileSync(sh("which", "sleep").trim(), udhcpc);
    sh("chmod", "755", udhcpc);
    const dhcpClient = startOwn(["ip", "netns", "exec", portNs, udhcpc, "300"]);
    const foreign = startOwn(["ip", "netns", "exec", A.host(2), "sleep", "301"]);
    // A root-netns device named like the driver's: not the lab's to touch.
    const rootKbr = `kbr-t${A.prefix.slice(1, 6)}`;
    sh("ip", "link", "add", rootKbr, "type", "bridge");
    try {
      await waitFor(async () => (await procInNetns(dhcpClient, portNs)) && (await procInNetns(foreign, A.host(2))), 2000);
      const r = await destroyLab(homeA, { agentMain: fake, graceMs: 500 });
      assert.deepEqual(
        r.stopped.map((p) => p.pid),
        [dhcpClient],
      );
      assert.deepEqual(
        r.foreign.map((p) => p.pid),
        [foreign],
      );
      assert.ok(r.removedNetns.includes(portNs) && r.removedNetns.includes(A.host(7)));
      assert.deepEqual(netnsOf(A.prefix), []);
      assert.deepEqual(linksOf(A.prefix), []);
      assert.equal(status("ip", "link", "show", "dev", rootKbr), 0, "a root kbr-* device survives");
      assert.equal(await procAlive(bystander), true, "the process behind a stale pid file survives");
      assert.equal(await procAlive(foreign), true, "a foreign process in a lab netns is reported, not killed");
      // That process keeps host 2's namespace alive without its name: the devices in it are gone anyway.
      const inside = sh("nsenter", `--net=/proc/${foreign}/ns/net`, "ip", "-json", "link", "show");
      assert.deepEqual(
        (JSON.parse(inside) as { ifname: string }[]).map((l) => l.ifname),
        ["lo"],
      );
      assert.deepEqual(await processesOf(homeA), []);
      assert.equal(existsSync(join(A.hostDir(A.host(1)), "agent.pid")), false);
      assert.ok(existsSync(join(A.hostDir(A.host(1)), "agent.log")), "logs stay for the post-mortem");
      assert.deepEqual((await labStatus(homeA)).hosts, [], "a host dir holding only a log is no host");
      // The other home is untouched.
      const b = await labStatus(homeB, { agentMain: fake });
      assert.equal(b.underlay?.up, true);
      assert.ok(b.hosts[0]?.pid !== undefined && (await procAlive(b.hosts[0].pid)));
    } finally {
      status("ip", "link", "del", "dev", rootKbr);
    }
  });

  it("destroyLab of the second home leaves nothing, and a repeat is a no-op", async () => {
    const agent = (await labStatus(homeB, { agentMain: fake })).hosts[0].pid!;
    await destroyLab(homeB, { agentMain: fake, graceMs: 500 });
    assert.deepEqual(netnsOf(B.prefix), []);
    assert.deepEqual(linksOf(B.prefix), []);
    assert.deepEqual(await processesOf(homeB, [agent]), []);
    const again = await destroyLab(homeB, { agentMain: fake });
    assert.deepEqual([again.stopped, again.removedNetns, again.removedLinks], [[], [], []]);
  });
});
