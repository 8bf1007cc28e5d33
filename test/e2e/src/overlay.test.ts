/**
 * Issue 3 end to end, as a user runs it: `kumo up` with namespace hosts and real agents, a network with two
 * plugged ports on different hosts (DHCP, ping across VXLAN, DNS names), drift repaired, the annotation
 * story replayed with `kumo doctor` naming the writer, an agent killed and restarted, `kumo down` clean.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "node:http";
import { freePort, kumoJson, runKumo, until } from "./user-cloud.js";

const skip =
  process.getuid?.() !== 0
    ? "needs root (network namespaces)"
    : spawnSync("which", ["dnsmasq", "busybox"]).status !== 0
      ? "needs dnsmasq and busybox"
      : false;

let home = "";
let env: NodeJS.ProcessEnv = {};

const kumo = (args: string[], opts: { allowFail?: boolean } = {}) => runKumo(env, args, { ...opts, timeoutMs: 60_000 });
const json = (args: string[]) => kumoJson(env, args);

function getText(url: string): Promise<string> {
  return new Promise((res, rej) =>
    request(url, (r) => {
      let b = "";
      r.on("data", (c) => (b += c));
      r.on("end", () => res(b));
    })
      .on("error", rej)
      .end(),
  );
}

const hostName = (i: number) =>
  json(["get", "hosts"])
    .items.map((h: any) => h.metadata.name)
    .sort()[i - 1];

describe("overlay network end to end", { skip, timeout: 240_000 }, () => {
  before(async () => {
    home = await mkdtemp(join(tmpdir(), "kumo-e2e-overlay-"));
    const port = await freePort();
    env = { ...process.env, KUMO_HOME: home, KUMO_CONFIG: join(home, "config"), KUMO_AGENT_REPUBLISH_MS: "8000", KUMO_LOG_LEVEL: "warn" };
    const up = kumo(["up", "--hosts", "3", "--listen", `127.0.0.1:${port}`]);
    assert.match(up.out, /hosts:\s+k[0-9a-f]{6}-host-1, k[0-9a-f]{6}-host-2, k[0-9a-f]{6}-host-3/);
  });
  after(async () => {
    if (!home) return;
    if (process.env.KUMO_E2E_KEEP) return; // debugging: leave the cloud up

    const down = kumo(["down", "--purge"], { allowFail: true });
    // `kumo down` must leave no namespace, link or process of this cloud behind.
    const left = execFileSync("ls", ["/run/netns"])
      .toString()
      .split("\n")
      .filter((n) => n.startsWith(`${hostName0Prefix}-`));
    await rm(home, { recursive: true, force: true });
    assert.equal(down.code, 0, down.err);
    assert.deepEqual(left, [], "no namespace left");
  });

  let hostName0Prefix = "\u0000";
  let h1 = "",
    h2 = "";

  it("brings up 3 Ready hosts with VTEP annotations", async () => {
    const hosts = await until("3 Ready hosts", () => {
      const items = json(["get", "hosts"]).items;
      return (
        items.length === 3 &&
        items.every((h: any) => h.status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True")) &&
        items
      );
    });
    for (const h of hosts) assert.match(h.metadata.annotations["network.kumo.dev/vtep-ip"], /^10\.\d+\.\d+\.\d+$/);
    h1 = hostName(1);
    h2 = hostName(2);
    hostName0Prefix = h1.slice(0, h1.indexOf("-host-"));
  });

  it("gives two plugged ports on different hosts their addresses over DHCP; they ping each other by name", () => {
    kumo(["network", "create", "blue", "--cidr", "10.77.0.0/24"]);
    kumo(["port", "create", "pa", "--network", "blue", "--host", h1]);
    kumo(["port", "create", "pb", "--network", "blue", "--host", h2]);
    assert.match(kumo(["port", "plug", "pa"]).out, /got 10\.77\.0\.\d+ over DHCP/);
    assert.match(kumo(["port", "plug", "pb"]).out, /got 10\.77\.0\.\d+ over DHCP/);
    const pb = json(["get", "port", "pb"]);
    assert.equal(pb.status.leasedAddress, pb.spec.fixedIPs[0].ipAddress, "DHCP hands out the IPAM address");
    const ping = kumo(["port", "exec", "pa", "--", "ping", "-c", "2", "-W", "2", "pb"]);
    assert.match(ping.out, /2 received/);
    const ns = kumo(["port", "exec", "pa", "--", "nslookup", "pb.blue.default.kumo"]);
    assert.match(ns.out, new RegExp(`Address:\\s+${pb.spec.fixedIPs[0].ipAddress.replace(/\./g, "\\.")}`));
    assert.match(kumo(["doctor"]).out, /no problems found/);
  });

  it("restores an FDB entry deleted by hand, counts it, and doctor reports it while it is missing", async () => {
    const pb = json(["get", "port", "pb"]);
    const vni = json(["get", "network", "blue"]).spec.vni;
    const vtep2 = json(["get", "host", h2]).metadata.annotations["network.kumo.dev/vtep-ip"];
    // Freeze the agent (by its PID) so the entry stays missing while doctor looks; it repairs within seconds otherwise.
    const agentPid = Number((await readFile(join(home, "hosts", h1, "agent.pid"), "utf8")).trim());
    execFileSync("bridge", ["-n", h1, "fdb", "del", pb.spec.macAddress, "dev", `kvx-${vni}`, "dst", vtep2]);
    let doc;
    process.kill(agentPid, "SIGSTOP");
    try {
      // doctor reads the host's kernel directly (the namespace is local), so a frozen agent does not hide the gap.
      doc = kumo(["doctor", "--no-ping"], { allowFail: true });
    } finally {
      process.kill(agentPid, "SIGCONT");
    }
    assert.equal(doc.code, 1);
    assert.match(doc.out, new RegExp(`host ${h1}'s overlay tables lack host ${h2}.*fdb ${pb.spec.macAddress}`));
    await until(
      "the entry restored",
      () =>
        execFileSync("bridge", ["-n", h1, "-json", "fdb", "show", "dev", `kvx-${vni}`])
          .toString()
          .includes(pb.spec.macAddress),
      15_000,
    );
    const h1ip = json(["get", "host", h1]).spec.underlayIP;
    // The counter moves when the sync that wrote the entry returns, a moment after the kernel has it.
    await until(
      "the repair counted in /metrics",
      async () =>
        /kumo_agent_drift_repairs_total\{network="default\.blue",kind="fdb"\} [1-9]/.test(await getText(`http://${h1ip}:9470/metrics`)),
      5000,
    );
  });

  it("shows every control loop of a real agent and of the server in /metrics and /debug/state", async () => {
    const ip = json(["get", "host", h1]).spec.underlayIP;
    const agentLoops = ["network", "dhcp", "instances", "heartbeat", "vtep-republish"];
    const metrics = await getText(`http://${ip}:9470/metrics`);
    const state = JSON.parse(await getText(`http://${ip}:9470/debug/state`));
    for (const loop of agentLoops) {
      assert.match(metrics, new RegExp(`kumo_controller_reconcile_total\\{controller="${loop}",result="success"\\} \\d+`), loop);
      assert.match(metrics, new RegExp(`kumo_controller_queue_oldest_item_age_seconds\\{controller="${loop}"\\} `), loop);
      assert.ok(state.components?.[loop]?.queue, `agent /debug/state has loop ${loop}`);
    }
    // A host with plugged ports has had its dataplane reconciled.
    assert.ok(state.components.network.reconciles.success > 0);
    const raw = (path: string) => execFileSync("kubectl", ["--kubeconfig", join(home, "config"), "get", "--raw", path]).toString();
    const serverMetrics = raw("/metrics");
    const serverState = JSON.parse(raw("/debug/state"));
    for (const loop of ["namespace", "gc", "ipam-releaser", "image-gc", "host-lifecycle", "scheduler", "instance", "compaction"]) {
      assert.match(serverMetrics, new RegExp(`kumo_controller_queue_depth\\{controller="${loop}"\\} \\d+`), loop);
      assert.ok(serverState[loop]?.queue, `server /debug/state has loop ${loop}`);
    }
  });

  it("replays the annotation story: refused, forced, diagnosed down to the writer, healed by the agent", async () => {
    const cfg = join(home, "config");
    const host = json(["get", "host", h2]);
    host.metadata.annotations = { "mgmt.example.com/desired": "yes" };
    // kubectl replace cannot send force=true, so the writes go straight to the API, as the management server's did.
    const { ApiClient } = await import("./helpers.js");
    const kc = await readFile(cfg, "utf8");
    const server = /server: (\S+)/.exec(kc)![1];
    const token = (await readFile(join(home, "admin.token"), "utf8")).trim();
    const api = new ApiClient(server, await readFile(join(home, "pki/ca.crt"), "utf8"), token);
    const refused = await api.request("PUT", `/apis/infra.kumo.dev/v1/hosts/${h2}?fieldManager=mgmt-server`, { body: host });
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /owned by "kumo-agent"/);
    const forced = await api.request("PUT", `/apis/infra.kumo.dev/v1/hosts/${h2}?fieldManager=mgmt-server&force=true`, { body: host });
    assert.equal(forced.status, 200);
    const doc = await until(
      "doctor to see the broken overlay",
      () => {
        const d = kumo(["doctor"], { allowFail: true });
        return d.code === 1 && /removed at/.test(d.out) && d.out;
      },
      10_000,
    );
    assert.match(
      doc,
      new RegExp(
        `ping pa \\(${h1}\\) → pb .* fails → host ${h1}'s overlay tables lack host ${h2}.* → ` +
          `Host ${h2} has no network.kumo.dev/vtep-ip annotation → removed at \\S+ by manager "mgmt-server" \\(user admin`,
      ),
    );
    await until(
      "the overlay to heal after the agent re-publishes",
      () => kumo(["port", "exec", "pa", "--", "ping", "-c", "1", "-W", "1", "pb"], { allowFail: true }).code === 0,
      20_000,
    );
    api.agent.destroy();
  });

  it("marks a host NotReady when its agent is killed; a restarted agent changes nothing that was right", async () => {
    const pid = Number((await readFile(join(home, "hosts", h2, "agent.pid"), "utf8")).trim());
    assert.ok(pid > 1);
    const killedAt = Date.now();
    process.kill(pid, "SIGKILL");
    await until(
      "NotReady",
      () => json(["get", "host", h2]).status.conditions.find((c: any) => c.type === "Ready").status === "False",
      20_000,
    );
    assert.ok(Date.now() - killedAt < 15_000, "within the 10 s grace plus one check");
    kumo(["up", "--hosts", "3"]);
    await until(
      "Ready again",
      () => json(["get", "host", h2]).status.conditions.find((c: any) => c.type === "Ready").status === "True",
      20_000,
    );
    const h2ip = json(["get", "host", h2]).spec.underlayIP;
    const state = await until("the restarted agent's first sync", async () => {
      const s = JSON.parse(await getText(`http://${h2ip}:9470/debug/state`).catch(() => "{}"));
      return s.lastSync && s;
    });
    assert.equal(state.lastSync.writes, 0, "entries that were right are not rewritten");
    assert.match(kumo(["port", "exec", "pa", "--", "ping", "-c", "1", "-W", "2", "pb"]).out, /1 received/);
  });
});
