/**
 * Issue 4 end to end, as a user runs it: `kumo up` with two namespace hosts, the stock images built and
 * uploaded, a container on one host and a VM on the other (real runc and QEMU) on one network, both
 * Running with DHCP addresses; exec + ping across the overlay, the VM console, the timeline; an
 * unschedulable instance; an agent killed (instances keep running) and restarted (adopted); corrupt
 * uploads refused; deletes free addresses and capacity; `kumo down` leaves nothing behind.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KUMO, REPO as repo, freePort, kumoJson, runKumo, tearDownUserCloud, until } from "./user-cloud.js";

const need = ["runc", "qemu-system-x86_64", "dnsmasq", "busybox", "cpio"];
const missing = need.filter((b) => spawnSync("which", [b]).status !== 0);
const skip = process.getuid?.() !== 0 ? "needs root (namespaces, runc, QEMU)" : missing.length ? `needs ${missing.join(", ")}` : false;

let home = "";
let env: NodeJS.ProcessEnv = {};
let prefix = "\u0000";

const kumo = (args: string[], opts: { allowFail?: boolean; input?: string } = {}) => runKumo(env, args, opts);
const json = (args: string[]) => kumoJson(env, args);
const ready = (o: any, type: string) => o.status?.conditions?.find((c: any) => c.type === type)?.status === "True";

/** A command left running, its output read as it streams (`kumo logs -f`): the last "tick N" seen, and its exit. */
function streamed(cmd: string, args: string[]) {
  const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d));
  child.stderr.on("data", (d: Buffer) => (err += d));
  const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
  const lastTick = () => Math.max(-1, ...[...out.matchAll(/tick (\d+)/g)].map((m) => Number(m[1])));
  return { what: `${cmd.split("/").pop()} ${args.join(" ")}`, child, err: () => err, exited, lastTick };
}

const instance = (name: string, kind: "container" | "vm", image: string, slot: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: { name, namespace: "default" },
    spec: { kind, image, networks: [{ network: "blue" }], nodeSelector: { slot }, ...extra },
  });

describe("compute end to end", { skip, timeout: 600_000 }, () => {
  let h1 = "",
    h2 = "";

  before(async () => {
    home = await mkdtemp(join(tmpdir(), "kumo-e2e-compute-"));
    env = { ...process.env, KUMO_HOME: home, KUMO_CONFIG: join(home, "config"), KUMO_LOG_LEVEL: "warn" };
    kumo(["up", "--hosts", "2", "--listen", `127.0.0.1:${await freePort()}`]);
    const upload = spawnSync(join(repo, "scripts/images/upload-images.sh"), { env, encoding: "utf8", timeout: 300_000 });
    assert.equal(upload.status, 0, upload.stderr);
    const hosts = await until("2 Ready hosts", () => {
      const items = json(["get", "hosts"]).items;
      return items.length === 2 && items.every((h: any) => ready(h, "Ready")) && items;
    });
    [h1, h2] = hosts.map((h: any) => h.metadata.name).sort();
    prefix = h1.slice(0, h1.indexOf("-host-"));
    kumo(["patch", "host", h1, "-p", '{"metadata":{"labels":{"slot":"a"}}}']);
    kumo(["patch", "host", h2, "-p", '{"metadata":{"labels":{"slot":"b"}}}']);
    kumo(["network", "create", "blue", "--cidr", "10.88.0.0/24"]);
  });

  after(async () => {
    if (!home) return;
    await tearDownUserCloud(env, home, prefix);
  });

  it("runs a container and a VM on different hosts; they reach each other over the overlay", async () => {
    kumo(["apply", "-f", "-"], { input: instance("c1", "container", "busybox", "a", { command: ["sleep", "3600"] }) });
    kumo(["apply", "-f", "-"], { input: instance("v1", "vm", "tiny-vm", "b") });
    const c1 = await until(
      "c1 Running",
      () => {
        const o = json(["get", "instance", "c1"]);
        return o.status?.phase === "Running" && o;
      },
      90_000,
    );
    const v1 = await until(
      "v1 Running",
      () => {
        const o = json(["get", "instance", "v1"]);
        return o.status?.phase === "Running" && o;
      },
      120_000,
    );
    assert.equal(c1.status.host, h1);
    assert.equal(v1.status.host, h2);
    for (const step of ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "Started", "AddressAssigned", "Running"]) {
      assert.ok(ready(v1, step), `VM condition ${step} is True`);
      assert.ok(v1.status.conditions.find((c: any) => c.type === step).lastTransitionTime, `${step} has a timestamp`);
    }
    const vmIp = v1.status.addresses[0].ip;
    assert.match(vmIp, /^10\.88\.0\.\d+$/);
    assert.match(kumo(["exec", "c1", "--", "ping", "-c", "2", "-W", "3", vmIp]).out, /2 packets received/);
    assert.match(kumo(["logs", "v1"]).out, new RegExp(`kumo-vm: eth0 ${vmIp.replace(/\./g, "\\.")}`));
    const describe = kumo(["describe", "instance", "v1"]).out;
    for (const step of ["Scheduled", "Started", "AddressAssigned", "Running"]) assert.match(describe, new RegExp(step));
  });

  it("serves instance logs through the API under RBAC; the agent gives them to nobody else", async () => {
    const logPath = "/apis/compute.kumo.dev/v1/namespaces/default/instances/v1/log";
    const kubectl = (args: string[]) =>
      spawnSync("/usr/bin/kubectl", ["--kubeconfig", join(home, "config"), ...args], { encoding: "utf8", timeout: 30_000 });
    if (existsSync("/usr/bin/kubectl")) {
      const viaKubectl = kubectl(["get", "--raw", `${logPath}?tailBytes=65536`]);
      assert.equal(viaKubectl.status, 0, viaKubectl.stderr);
      assert.match(viaKubectl.stdout, /kumo-vm: eth0 10\.88\.0\.\d+/);
    }
    // A user who may edit project "other" only is refused the log of an instance in "default".
    kumo(["apply", "-f", "-"], { input: JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "other" } }) });
    kumo(["apply", "-f", "-"], {
      input: JSON.stringify({ apiVersion: "iam.kumo.dev/v1", kind: "User", metadata: { name: "mallory" }, spec: {} }),
    });
    kumo(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "iam.kumo.dev/v1",
        kind: "RoleBinding",
        metadata: { name: "mallory-edit", namespace: "other" },
        roleRef: { name: "edit" },
        subjects: [{ kind: "User", name: "mallory" }],
      }),
    });
    const token = JSON.parse(
      kumo(["create", "-f", "-", "-o", "json"], {
        input: JSON.stringify({ apiVersion: "iam.kumo.dev/v1", kind: "Token", metadata: { name: "mallory-1" }, spec: { user: "mallory" } }),
      }).out,
    ).status.bearerToken;
    const refused = kumo(["logs", "v1", "-n", "default", "--token", token], { allowFail: true });
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /cannot get resource "instances\/log" in API group "compute\.kumo\.dev" in the namespace "default"/);
    // Straight to the agent (no proxy token): refused, and counted.
    const ip = json(["get", "host", h2]).spec.underlayIP;
    const direct = await fetch(`http://${ip}:9470/debug/instances/default/v1/logs`);
    assert.equal(direct.status, 401);
    assert.doesNotMatch(await direct.text(), /kumo-vm/);
    assert.match(await (await fetch(`http://${ip}:9470/metrics`)).text(), /kumo_agent_log_requests_total\{outcome="refused"\} [1-9]/);
  });

  it("follows a container's output through the API (kumo logs -f, kubectl --raw ?follow=true) until it is deleted", async () => {
    const ticker = ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"];
    kumo(["apply", "-f", "-"], { input: instance("c2", "container", "busybox", "a", { command: ticker }) });
    await until("c2 Running", () => json(["get", "instance", "c2"]).status?.phase === "Running", 90_000);
    const followers = [streamed(KUMO, ["logs", "c2", "-f", "--tail-bytes", "64"])];
    const logPath = "/apis/compute.kumo.dev/v1/namespaces/default/instances/c2/log?follow=true&tailBytes=64";
    const kubectl = ["--kubeconfig", join(home, "config"), "get", "--raw", logPath];
    if (existsSync("/usr/bin/kubectl")) followers.push(streamed("/usr/bin/kubectl", kubectl));
    try {
      for (const f of followers) {
        const first = await until(`a tick from ${f.what}`, () => f.lastTick() >= 0 && { tick: f.lastTick() });
        await until(`later ticks from ${f.what}, still following`, () => f.lastTick() >= first.tick + 5, 30_000);
      }
      kumo(["delete", "instance", "c2"]);
      for (const f of followers) assert.equal(await f.exited, 0, `${f.what} ends when the instance goes away: ${f.err()}`);
    } finally {
      for (const f of followers) f.child.kill("SIGKILL");
    }
    await until("c2 gone", () => !json(["get", "instances"]).items.some((i: any) => i.metadata.name === "c2"), 60_000);
  });

  it("keeps an instance that fits nowhere Pending and says why", async () => {
    kumo(["apply", "-f", "-"], { input: instance("huge", "container", "busybox", "a", { memoryMiB: 10_000_000, command: ["true"] }) });
    const o = await until("the Unschedulable reason", () => {
      const i = json(["get", "instance", "huge"]);
      const c = i.status?.conditions?.find((x: any) => x.type === "Scheduled");
      return c?.status === "False" && i;
    });
    assert.equal(o.status.phase ?? "Pending", "Pending");
    assert.match(o.status.conditions.find((x: any) => x.type === "Scheduled").message, /0\/2 hosts: .*insufficient memory/);
    kumo(["delete", "instance", "huge"]);
  });

  it("keeps instances running when their agent dies and adopts them when it returns", async () => {
    const pidFile = join(home, "hosts", h1, "agent.pid");
    const agentPid = Number((await readFile(pidFile, "utf8")).trim());
    const before = json(["get", "instance", "c1"]);
    process.kill(agentPid, "SIGKILL");
    await until(
      "host NotReady",
      () => json(["get", "host", h1]).status.conditions.find((c: any) => c.type === "Ready").status === "False",
      30_000,
    );
    const vmIp = json(["get", "instance", "v1"]).status.addresses[0].ip;
    assert.match(
      kumo(["exec", "c1", "--", "ping", "-c", "1", "-W", "3", vmIp]).out,
      /1 packets received/,
      "the container still runs and reaches the VM",
    );
    kumo(["up", "--hosts", "2"]);
    await until("host Ready", () => ready(json(["get", "host", h1]), "Ready"), 30_000);
    const after = await until("c1 still Running", () => {
      const o = json(["get", "instance", "c1"]);
      return o.status?.phase === "Running" && o;
    });
    assert.equal(after.status.startedAt, before.status.startedAt, "adopted, not restarted");
  });

  it("refuses a corrupted upload and an unknown format, leaving nothing half-written", async () => {
    const file = join(home, "blob.tar");
    await writeFile(file, Buffer.alloc(4096, 7));
    const server = /server: (\S+)/.exec(await readFile(join(home, "config"), "utf8"))![1];
    const token = (await readFile(join(home, "admin.token"), "utf8")).trim();
    kumo(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "compute.kumo.dev/v1",
        kind: "Image",
        metadata: { name: "bad" },
        spec: { format: "rootfs-tar" },
      }),
    });
    const put = spawnSync(
      "curl",
      [
        "-s",
        "--cacert",
        join(home, "pki/ca.crt"),
        "-H",
        `Authorization: Bearer ${token}`,
        "-X",
        "PUT",
        "--data-binary",
        `@${file}`,
        "-w",
        "\n%{http_code}",
        `${server}/apis/compute.kumo.dev/v1/images/bad/blobs/rootfs?sha256=${"0".repeat(64)}`,
      ],
      { encoding: "utf8" },
    );
    const [body, code] = [put.stdout.slice(0, put.stdout.lastIndexOf("\n")), put.stdout.slice(put.stdout.lastIndexOf("\n") + 1)];
    assert.equal(code, "422");
    assert.match(JSON.parse(body).message, /sha256/i);
    assert.equal(json(["get", "image", "bad"]).status?.phase ?? "Pending", "Pending", "the image did not become Ready");
    const tmp = spawnSync("sh", ["-c", `ls ${home}/blobs/tmp 2>/dev/null | wc -l`], { encoding: "utf8" }).stdout.trim();
    assert.equal(tmp, "0", "no temp file left");
    const unknown = kumo(["image", "upload", "weird", "--format", "vhdx", "--file", file], { allowFail: true });
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /format/);
  });

  it("frees addresses and capacity when instances are deleted", async () => {
    const hostBefore = json(["get", "host", h2]).status.allocated;
    const ip = json(["get", "instance", "v1"]).status.addresses[0].ip;
    kumo(["delete", "instance", "c1"]);
    kumo(["delete", "instance", "v1"]);
    await until("instances gone", () => json(["get", "instances"]).items.length === 0, 60_000);
    await until("ports gone", () => json(["get", "ports"]).items.every((p: any) => !/^(c1|v1)-/.test(p.metadata.name)), 30_000);
    const hostAfter = json(["get", "host", h2]).status.allocated ?? {};
    assert.ok((hostAfter.memoryMiB ?? 0) < hostBefore.memoryMiB, "the VM's memory is released");
    const reuse = kumo(["port", "create", "reuse", "--network", "blue", "--ip", ip], { allowFail: true });
    assert.equal(reuse.code, 0, `the VM's address ${ip} is free again: ${reuse.err}`);
  });
});
