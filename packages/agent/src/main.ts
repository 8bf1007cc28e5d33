#!/usr/bin/env node
/**
 * Entry point of the host agent: `node packages/agent/dist/main.js --server URL --ca-file F --token-file F
 * --name HOST --underlay-ip IP --underlay-dev DEV --state-dir DIR [--metrics-listen IP:PORT] [--image-cache-dir DIR]
 * [--proxy-token-file F]`. Serves /metrics, /debug/state, /debug/dataplane and, to the API server only (it
 * shows the token in --proxy-token-file), /debug/instances/NS/NAME/logs[?tailBytes=N][&follow=true]. SIGTERM stops it and
 * leaves the dataplane and the instances in place (a restart adopts them).
 */
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { networkInterfaces } from "node:os";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { Counter } from "prom-client";
import { AGENT_PORT } from "@kumo/api";
import { KumoClient } from "@kumo/client";
import { HostAgent } from "./agent/agent.js";
import { serveInstanceLog } from "./agent/instance-log-endpoint.js";
import { createNodeFetch } from "@kumo/runtime";

function fail(msg: string): never {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

const { values: a } = parseArgs({
  options: {
    server: { type: "string" }, "ca-file": { type: "string" }, "token-file": { type: "string" }, token: { type: "string" },
    name: { type: "string" }, "underlay-ip": { type: "string" }, "underlay-dev": { type: "string", default: "eth0" },
    "state-dir": { type: "string" }, "metrics-listen": { type: "string" }, "netns-prefix": { type: "string" },
    "heartbeat-ms": { type: "string" }, "resync-ms": { type: "string" }, "republish-ms": { type: "string" },
    "image-cache-dir": { type: "string" }, "proxy-token-file": { type: "string" },
  },
  strict: true,
});
for (const req of ["server", "ca-file", "name", "underlay-ip", "state-dir"] as const) if (!a[req]) fail(`--${req} is required (see the header of packages/agent/src/main.ts)`);
const token = a.token ?? (a["token-file"] ? (await readFile(a["token-file"], "utf8")).trim() : fail("--token or --token-file is required"));
const caPem = await readFile(a["ca-file"]!, "utf8").catch(() => fail(`cannot read --ca-file ${a["ca-file"]}`));
const log = pino({ level: process.env.KUMO_LOG_LEVEL ?? "info", base: { component: "agent", host: a.name } });
const underlayMac = Object.entries(networkInterfaces()).find(([n]) => n === a["underlay-dev"])?.[1]?.find((i) => i.family === "IPv4")?.mac;
const client = new KumoClient({ server: a.server!, token, fetch: createNodeFetch({ caPem }), fieldManager: "kumo-agent", userAgent: "kumo-agent/0.1.0" });
const name = a.name!;
const agent = new HostAgent(client, {
  identity: { name, underlayIP: a["underlay-ip"]!, underlayMac },
  underlayDev: a["underlay-dev"]!,
  stateDir: a["state-dir"]!,
  // Probe namespaces are global (/run/netns) and every agent sweeps its own leftovers, so the prefix must be per host.
  netnsPrefix: a["netns-prefix"] ?? name,
  heartbeatMs: a["heartbeat-ms"] ? Number(a["heartbeat-ms"]) : undefined,
  resyncMs: a["resync-ms"] ? Number(a["resync-ms"]) : undefined,
  // The env var lets `kumo up` (and tests) shorten self-repair without changing every agent's command line.
  republishMs: Number(a["republish-ms"] ?? process.env.KUMO_AGENT_REPUBLISH_MS ?? 30_000),
  imageCacheDir: a["image-cache-dir"],
}, log);

const listen = a["metrics-listen"] ?? `${a["underlay-ip"]}:${AGENT_PORT}`;
/** Instance log requests by outcome: /debug/state shows these counts, /metrics reads them at scrape time. */
const logRequests = { ok: 0, refused: 0, not_found: 0, error: 0 };
new Counter({
  name: "kumo_agent_log_requests_total", help: "Instance log requests by outcome (ok, refused: not the API server's proxy token, not_found, error)", labelNames: ["outcome"], registers: [agent.metrics.registry],
  collect() {
    this.reset();
    for (const [outcome, n] of Object.entries(logRequests)) this.labels(outcome).inc(n);
  },
});
const [mhost, mport] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
const http = createServer(async (req, res) => {
  if (req.url === "/metrics") {
    agent.refreshMetrics();
    res.writeHead(200, { "content-type": agent.metrics.registry.contentType });
    res.end(await agent.metrics.registry.metrics());
  } else if (req.url === "/debug/state") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ...agent.debugState(), logRequests }, null, 1));
  } else if (req.url === "/debug/dataplane") {
    // Read live from the kernel (ip/bridge -json): what `kumo doctor` compares with the API.
    try {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ host: name, observedAt: new Date().toISOString(), ...(await agent.network.observe()) }));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  } else if (req.url?.startsWith("/debug/instances/")) {
    await serveInstanceLog(req, res, { source: agent.instances, host: name, proxyTokenFile: a["proxy-token-file"], counts: logRequests, log });
  } else if (req.url === "/healthz") {
    res.end("ok");
  } else {
    res.writeHead(404).end("not found: try /metrics, /debug/state, /debug/dataplane or /debug/instances/NS/NAME/logs\n");
  }
});
http.listen(mport, mhost, () => log.info({ listen }, "agent metrics listening"));
http.on("error", (e) => log.warn({ err: e.message, listen }, "metrics endpoint unavailable"));

const stop = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => stop.abort());
await agent.run(stop.signal).catch((e) => log.error({ err: (e as Error).message }, "agent stopped with an error"));
http.close();
log.info({}, "agent stopped");
process.exit(0);
