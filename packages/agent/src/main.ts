#!/usr/bin/env node
/**
 * Entry point of the host agent: `node packages/agent/dist/main.js --server URL --ca-file F --token-file F
 * --name HOST --underlay-ip IP --underlay-dev DEV --state-dir DIR [--metrics-listen IP:PORT] [--image-cache-dir DIR]
 * [--proxy-token-file F]`. Serves /metrics, /debug/state, /debug/dataplane and, to the API server only (it
 * shows the token in --proxy-token-file), /debug/instances/NS/NAME/logs[?tailBytes=N][&follow=true]. SIGTERM stops it and
 * leaves the dataplane and the instances in place (a restart adopts them).
 *
 * The process is a list of components (@kumo/runtime's ComponentManager): the HTTP listener, registration,
 * the informers and each loop, started in that order and stopped in reverse. A listener that cannot bind
 * fails the start (exit 1, nothing left running): it is how the API server reads instance logs and doctor
 * reads the dataplane, and a second agent for the same host (same address) must not run beside the first.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Counter } from "prom-client";
import { AGENT_PORT } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { ComponentManager, createNodeFetch, listenerComponent } from "@kumo/runtime";
import { HostAgent } from "./agent/agent.js";
import { serveInstanceLog } from "./agent/instance-log-endpoint.js";
import { runtimeDir } from "./agent/instance-paths.js";
import { DnsmasqDriver } from "./dhcp/dnsmasq.js";
import { LinuxNetworkDriver } from "./network/linux-driver.js";
import { CompositeRuntimeDriver } from "./runtime/composite.js";
import { QemuDriver } from "./runtime/qemu/qemu-driver.js";
import { RuncDriver } from "./runtime/runc/runc-driver.js";

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

const { values: a } = parseArgs({
  options: {
    server: { type: "string" },
    "ca-file": { type: "string" },
    "token-file": { type: "string" },
    token: { type: "string" },
    name: { type: "string" },
    "underlay-ip": { type: "string" },
    "underlay-dev": { type: "string", default: "eth0" },
    "state-dir": { type: "string" },
    "metrics-listen": { type: "string" },
    "netns-prefix": { type: "string" },
    "heartbeat-ms": { type: "string" },
    "resync-ms": { type: "string" },
    "republish-ms": { type: "string" },
    "image-cache-dir": { type: "string" },
    "proxy-token-file": { type: "string" },
  },
  strict: true,
});
for (const req of ["server", "ca-file", "name", "underlay-ip", "state-dir"] as const)
  if (!a[req]) fail(`--${req} is required (see the header of packages/agent/src/main.ts)`);
const token = a.token ?? (a["token-file"] ? (await readFile(a["token-file"], "utf8")).trim() : fail("--token or --token-file is required"));
const caPem = await readFile(a["ca-file"]!, "utf8").catch(() => fail(`cannot read --ca-file ${a["ca-file"]}`));
const log = pino({ level: process.env.KUMO_LOG_LEVEL ?? "info", base: { component: "agent", host: a.name } });
const underlayMac = Object.entries(networkInterfaces())
  .find(([n]) => n === a["underlay-dev"])?.[1]
  ?.find((i) => i.family === "IPv4")?.mac;
const client = new KumoClient({
  server: a.server!,
  token,
  fetch: createNodeFetch({ caPem }),
  fieldManager: "kumo-agent",
  userAgent: "kumo-agent/0.1.0",
});
const name = a.name!;
const rt = runtimeDir(a["state-dir"]!);
const drivers = {
  network: new LinuxNetworkDriver(),
  // dnsmasq keeps root: it otherwise drops to "nobody" and re-reads its files as that user, which fails
  // whenever any parent of the state dir is private (KUMO_HOME made by mkdtemp, a 0700 home).
  dhcp: new DnsmasqDriver({ stateDir: `${a["state-dir"]}/dnsmasq`, user: "root" }),
  // 5 s stop grace for containers: a PID 1 without a SIGTERM handler (busybox sleep) only goes with SIGKILL.
  runtime: new CompositeRuntimeDriver(new RuncDriver({ stateDir: rt, stopGraceMs: 5000 }), new QemuDriver({ stateDir: rt })),
};
const agent = new HostAgent(
  client,
  {
    identity: { name, underlayIP: a["underlay-ip"]!, underlayMac },
    underlayDev: a["underlay-dev"],
    stateDir: a["state-dir"]!,
    // Probe namespaces are global (/run/netns) and every agent sweeps its own leftovers, so the prefix must be per host.
    netnsPrefix: a["netns-prefix"] ?? name,
    heartbeatMs: a["heartbeat-ms"] ? Number(a["heartbeat-ms"]) : undefined,
    resyncMs: a["resync-ms"] ? Number(a["resync-ms"]) : undefined,
    // The env var lets `kumo up` (and tests) shorten self-repair without changing every agent's command line.
    republishMs: Number(a["republish-ms"] ?? process.env.KUMO_AGENT_REPUBLISH_MS ?? 30_000),
    imageCacheDir: a["image-cache-dir"],
  },
  drivers,
  log,
);
const manager = new ComponentManager(agent.metrics.registry, log);

const listen = a["metrics-listen"] ?? `${a["underlay-ip"]}:${AGENT_PORT}`;
/** Instance log requests by outcome: /debug/state shows these counts, /metrics reads them at scrape time. */
const logRequests = { ok: 0, refused: 0, not_found: 0, error: 0 };
new Counter({
  name: "kumo_agent_log_requests_total",
  help: "Instance log requests by outcome (ok, refused: not the API server's proxy token, not_found, error)",
  labelNames: ["outcome"],
  registers: [agent.metrics.registry],
  collect() {
    this.reset();
    for (const [outcome, n] of Object.entries(logRequests)) this.labels(outcome).inc(n);
  },
});
const [mhost, mport] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.url === "/metrics") {
    agent.refreshMetrics();
    res.writeHead(200, { "content-type": agent.metrics.registry.contentType });
    res.end(await agent.metrics.registry.metrics());
  } else if (req.url === "/debug/state") {
    res.writeHead(200, { "content-type": "application/json" });
    const components = { components: manager.snapshot(), lifecycle: manager.lifecycle() };
    res.end(JSON.stringify({ ...agent.debugState(), ...components, logRequests }, null, 1));
  } else if (req.url === "/debug/dataplane") {
    // Read live from the kernel (ip/bridge -json): what `kumo doctor` compares with the API.
    try {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ host: name, observedAt: new Date().toISOString(), ...(await agent.network.observe()) }));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  } else if (req.url?.startsWith("/debug/instances/")) {
    await serveInstanceLog(req, res, {
      source: agent.instances,
      host: name,
      proxyTokenFile: a["proxy-token-file"],
      counts: logRequests,
      log,
    });
  } else if (req.url === "/healthz") {
    res.end("ok");
  } else {
    res.writeHead(404).end("not found: try /metrics, /debug/state, /debug/dataplane or /debug/instances/NS/NAME/logs\n");
  }
}
const http = createServer((req, res) => {
  serve(req, res).catch((e: unknown) => {
    log.error({ err: (e as Error).message, url: req.url }, "agent HTTP request failed");
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
manager.add(listenerComponent("http", http, mhost, mport));
for (const c of agent.components()) manager.add(c);

let stopping = false;
const stopped = new Promise<void>((resolve) => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      stopping = true;
      resolve();
    });
  }
});
try {
  await Promise.race([manager.start(), stopped]);
  if (!stopping) log.info({ listen }, "agent started");
} catch (e) {
  // A start cut short by SIGTERM (registration still retrying) is a stop, not a failure.
  if (!stopping) {
    log.error({ err: (e as Error).message }, "agent failed to start");
    process.exit(1);
  }
}
await stopped;
await manager.stop();
log.info({}, "agent stopped; dataplane and instances left in place");
process.exit(0);
