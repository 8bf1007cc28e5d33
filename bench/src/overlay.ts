/**
 * bench/overlay: how fast the overlay converges, beside a raw iproute2 baseline measured in the same run.
 *   1. join: with N namespace hosts (3, 10, 20) each holding a port on one network, a new host joins
 *      (its port exists already, bound to the host name); time from the new Host's registration (its
 *      VTEP annotation visible in the API) until every existing host's kernel has the FDB entry for it.
 *   2. 1,000 peers: 1,000 Hosts + 1,000 ports registered through the API (no namespaces); one real agent
 *      programs 3,000 entries (flood, FDB, neighbour). Reported: the agent's sync (read, diff, batch write)
 *      and cold start (agent start → kernel complete), beside raw `ip -batch` + `bridge -batch` of the
 *      same entries into a scratch namespace.
 * Needs root. Fake VTEPs are in 198.18.0.0/15 (benchmarking range) with no route in any namespace, so
 * nothing is ever sent to them. Run: `node bench/dist/overlay.js [--sizes 3,10,20]`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { HostKind, NetworkKind, PortKind, SubnetKind, type Host, type Network, type Port } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { createNodeFetch } from "@kumo/runtime";

const repo = resolve(fileURLToPath(import.meta.url), "../../..");
const KUMO = join(repo, "bin/kumo");
const sizes = (process.argv.find((a) => a.startsWith("--sizes="))?.slice(8) ?? "3,10,20").split(",").map(Number);
const ms = (t: bigint) => Number(t) / 1e6;
const now = () => process.hrtime.bigint();

function kumo(env: NodeJS.ProcessEnv, args: string[]): string {
  const r = spawnSync(KUMO, args, { env, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`kumo ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

function fdbMacs(netns: string, dev: string): Set<string> {
  const r = spawnSync("bridge", ["-n", netns, "-json", "fdb", "show", "dev", dev], { encoding: "utf8" });
  if (r.status !== 0) return new Set();
  return new Set((JSON.parse(r.stdout || "[]") as { mac: string; dst?: string }[]).filter((e) => e.dst).map((e) => e.mac));
}

async function poll(pred: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

async function cloud(hosts: number) {
  const home = await mkdtemp(join(tmpdir(), "kumo-bench-overlay-"));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env = { ...process.env, KUMO_HOME: home, KUMO_CONFIG: join(home, "config"), KUMO_LOG_LEVEL: "warn" };
  kumo(env, ["up", "--hosts", String(hosts), "--listen", `127.0.0.1:${port}`]);
  const kc = await readFile(join(home, "admin.kubeconfig"), "utf8");
  const client = new KumoClient({
    server: `https://127.0.0.1:${port}`,
    token: (await readFile(join(home, "admin.token"), "utf8")).trim(),
    fetch: createNodeFetch({ caPem: Buffer.from(/certificate-authority-data: (\S+)/.exec(kc)![1], "base64").toString() }),
    fieldManager: "bench",
  });
  const down = async () => {
    spawnSync(KUMO, ["down", "--purge"], { env });
    await rm(home, { recursive: true, force: true });
  };
  return { home, env, client, down };
}

async function joinBench(n: number): Promise<{ hosts: number; joinMs: number; perHostMs: number[] }> {
  const c = await cloud(n);
  try {
    await poll(
      async () => {
        const hs = (await c.client.listAll<Host>(HostKind)).items;
        return hs.length === n && hs.every((h) => h.metadata.annotations?.["network.kumo.dev/vtep-ip"]);
      },
      60_000,
      100,
    );
    const names = (await c.client.listAll<Host>(HostKind)).items.map((h) => h.metadata.name!).sort();
    const net = await c.client.create<Network>(NetworkKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Network",
      metadata: { name: "bench", namespace: "default" },
      spec: {},
    });
    await c.client.create(SubnetKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Subnet",
      metadata: { name: "bench-v4", namespace: "default" },
      spec: { network: "bench", cidr: "10.99.0.0/20" },
    });
    const vx = `kvx-${net.spec!.vni}`;
    for (const h of names)
      await c.client.create(PortKind, {
        apiVersion: "network.kumo.dev/v1",
        kind: "Port",
        metadata: { name: `p-${h}`, namespace: "default" },
        spec: { network: "bench", hostBinding: h },
      });
    const macs = (await c.client.listAll<Port>(PortKind, "default")).items
      .filter((p) => p.spec!.deviceOwner !== "network:dhcp")
      .map((p) => p.spec!.macAddress!);
    // Steady state first: every host knows every other host's port.
    const steady = await poll(
      () =>
        names.every((h) => {
          const have = fdbMacs(h, vx);
          return macs.filter((m) => !have.has(m)).length <= 1;
        }),
      60_000,
      50,
    );
    if (!steady) throw new Error(`the ${n} hosts did not converge before the join`);
    const newName = names[0].replace(/-host-\d+$/, `-host-${n + 1}`);
    const port = await c.client.create<Port>(PortKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Port",
      metadata: { name: "p-joiner", namespace: "default" },
      spec: { network: "bench", hostBinding: newName },
    });
    const mac = port.spec!.macAddress!;
    const add = spawnSync(KUMO, ["host", "add"], { env: c.env, encoding: "utf8" });
    if (add.status !== 0) throw new Error(add.stderr);
    let t0 = 0n;
    await poll(
      async () => {
        const h = await c.client.get<Host>(HostKind, undefined, newName).catch(() => undefined);
        if (h?.metadata.annotations?.["network.kumo.dev/vtep-ip"]) t0 = now();
        return t0 !== 0n;
      },
      30_000,
      2,
    );
    const done = new Map<string, number>();
    await poll(
      () => {
        for (const h of names) if (!done.has(h) && fdbMacs(h, vx).has(mac)) done.set(h, ms(now() - t0));
        return done.size === names.length;
      },
      30_000,
      2,
    );
    const per = names.map((h) => done.get(h) ?? Infinity);
    return { hosts: n, joinMs: Math.max(...per), perHostMs: per };
  } finally {
    await c.down();
  }
}

/** Raw baseline: the same 3,000 entries through ip -batch / bridge -batch into a scratch VXLAN. */
function rawBatch(vteps: string[], ports: { mac: string; ip: string; vtep: string }[]): number {
  const ns = `kbench-${process.pid}`;
  execFileSync("ip", ["netns", "add", ns]);
  try {
    execFileSync("ip", ["-n", ns, "link", "add", "kbv0", "type", "veth", "peer", "name", "kbv1"]);
    execFileSync("ip", ["-n", ns, "addr", "add", "192.0.2.1/24", "dev", "kbv0"]);
    execFileSync("ip", ["-n", ns, "link", "set", "kbv0", "up"]);
    execFileSync("ip", [
      "-n",
      ns,
      "link",
      "add",
      "kvx-raw",
      "type",
      "vxlan",
      "id",
      "4242",
      "local",
      "192.0.2.1",
      "dev",
      "kbv0",
      "dstport",
      "8472",
      "nolearning",
      "proxy",
    ]);
    execFileSync("ip", ["-n", ns, "link", "set", "kvx-raw", "up"]);
    const bridgeLines =
      [
        ...vteps.map((v) => `fdb append 00:00:00:00:00:00 dev kvx-raw dst ${v}`),
        ...ports.map((p) => `fdb replace ${p.mac} dev kvx-raw dst ${p.vtep}`),
      ].join("\n") + "\n";
    const ipLines = ports.map((p) => `neigh replace ${p.ip} lladdr ${p.mac} dev kvx-raw nud permanent`).join("\n") + "\n";
    const t0 = now();
    execFileSync("ip", ["-n", ns, "-batch", "-"], { input: ipLines });
    execFileSync("bridge", ["-n", ns, "-batch", "-"], { input: bridgeLines });
    return ms(now() - t0);
  } finally {
    spawnSync("ip", ["netns", "del", ns]);
  }
}

async function thousandPeers(): Promise<Record<string, number>> {
  const c = await cloud(1);
  try {
    await poll(async () => (await c.client.listAll<Host>(HostKind)).items.length === 1, 30_000, 100);
    const [self] = (await c.client.listAll<Host>(HostKind)).items.map((h) => h.metadata.name!);
    const net = await c.client.create<Network>(NetworkKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Network",
      metadata: { name: "wide", namespace: "default" },
      spec: {},
    });
    await c.client.create(SubnetKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Subnet",
      metadata: { name: "wide-v4", namespace: "default" },
      spec: { network: "wide", cidr: "10.96.0.0/20" },
    });
    await c.client.create(PortKind, {
      apiVersion: "network.kumo.dev/v1",
      kind: "Port",
      metadata: { name: "local", namespace: "default" },
      spec: { network: "wide", hostBinding: self },
    });
    const vx = `kvx-${net.spec!.vni}`;
    const peers = Array.from({ length: 1000 }, (_, i) => ({ name: `peer-${i}`, vtep: `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
    const ports: { mac: string; ip: string; vtep: string }[] = [];
    const inFlight = 32;
    for (let i = 0; i < peers.length; i += inFlight) {
      await Promise.all(
        peers.slice(i, i + inFlight).map(async (p) => {
          await c.client.create(HostKind, {
            apiVersion: "infra.kumo.dev/v1",
            kind: "Host",
            metadata: { name: p.name, annotations: { "network.kumo.dev/vtep-ip": p.vtep } },
          });
          const port = await c.client.create<Port>(PortKind, {
            apiVersion: "network.kumo.dev/v1",
            kind: "Port",
            metadata: { name: `pp-${p.name}`, namespace: "default" },
            spec: { network: "wide", hostBinding: p.name },
          });
          ports.push({ mac: port.spec!.macAddress!, ip: port.spec!.fixedIPs![0].ipAddress, vtep: p.vtep });
        }),
      );
    }
    const converged = await poll(() => fdbMacs(self, vx).size >= 1001, 120_000, 20);
    if (!converged) throw new Error("the agent did not program 1,000 peers");
    // Cold start: stop the agent, remove its VXLAN (all entries go with it), start it, time until complete.
    const pidFile = join(c.home, "hosts", self, "agent.pid");
    const pid = Number((await readFile(pidFile, "utf8")).trim());
    process.kill(pid, "SIGTERM");
    await poll(() => spawnSync("kill", ["-0", String(pid)]).status !== 0, 10_000, 20);
    execFileSync("ip", ["-n", self, "link", "del", vx]);
    const t0 = now();
    kumo(c.env, ["up", "--hosts", "1"]);
    await poll(() => fdbMacs(self, vx).size >= 1001, 120_000, 5);
    const coldMs = ms(now() - t0);
    const ip = (await c.client.get<Host>(HostKind, undefined, self)).spec!.underlayIP!;
    const state = JSON.parse(execFileSync("curl", ["-s", `http://${ip}:9470/debug/state`]).toString());
    // The sync that wrote the entries (later resyncs write nothing).
    const firstFull = (state.recentSyncs as { durationMs: number; writes: number }[]).reduce((a, b) => (b.writes > a.writes ? b : a));
    const raw = [
      rawBatch(
        peers.map((p) => p.vtep),
        ports,
      ),
      rawBatch(
        peers.map((p) => p.vtep),
        ports,
      ),
      rawBatch(
        peers.map((p) => p.vtep),
        ports,
      ),
    ].sort((a, b) => a - b)[1];
    return {
      rawBatchMs: raw,
      agentColdStartMs: coldMs,
      agentLastSyncMs: firstFull?.durationMs ?? NaN,
      agentLastSyncWrites: firstFull?.writes ?? NaN,
    };
  } finally {
    await c.down();
  }
}

if (process.getuid?.() !== 0) {
  console.error("bench/overlay needs root (network namespaces)");
  process.exit(2);
}
const results: Record<string, unknown> = {
  bench: "overlay",
  load: (await readFile("/proc/loadavg", "utf8")).split(" ").slice(0, 3).join(" "),
};
const joins = [];
for (const n of sizes) {
  const j = await joinBench(n);
  joins.push(j);
  const perHostP50 = j.perHostMs.sort((a, b) => a - b)[Math.floor(j.perHostMs.length / 2)];
  const verdict = n === 20 ? (j.joinMs <= 250 ? ": PASS" : ": MISS") : "";
  console.log(
    `join with ${String(n).padStart(2)} hosts: ${j.joinMs.toFixed(1)} ms until every existing host has the new host's entries ` +
      `(per host p50 ${perHostP50.toFixed(1)} ms)  [target ≤ 250 ms at 20 hosts${verdict}]`,
  );
}
results.joins = joins;
const tp = await thousandPeers();
results.thousandPeers = tp;
console.log(
  `1,000 peers (3,000 entries): raw ip/bridge -batch ${tp.rawBatchMs.toFixed(1)} ms; ` +
    `agent cold start → complete ${tp.agentColdStartMs.toFixed(0)} ms; ` +
    `agent's last sync ${tp.agentLastSyncMs.toFixed(1)} ms (${tp.agentLastSyncWrites} writes)  [target: programming within 2× raw]`,
);
console.log(JSON.stringify(results));
await writeFile(join(tmpdir(), "kumo-bench-overlay.json"), JSON.stringify(results));
