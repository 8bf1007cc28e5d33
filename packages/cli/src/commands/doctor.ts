/** `kumo doctor`: from symptom to cause, one line per problem, with the command that shows it. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { request } from "node:http";
import { LinuxNetworkDriver } from "@kumo/agent";
import type { Command } from "commander";
import { AGENT_PORT, type Host } from "@kumo/api";
import { CliContext } from "../context.js";
import { formatFindings, runDoctor, type ObservedDataplane } from "../doctor/doctor.js";

function getJson(url: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)));
    req.on("error", (e) => reject(new Error(`${url}: ${e.message}`)));
    req.end();
  });
}

/** Registers `doctor`. */
export function register(program: Command): void {
  program
    .command("doctor")
    .description("compare every host's kernel tables with what the API says, and explain each gap")
    .option("--agent-port <port>", "port of the agents' debug endpoint", String(AGENT_PORT))
    .option("--no-ping", "skip connectivity probes between plugged ports")
    .action(async (o: { agentPort: string; ping: boolean }, cmd: Command) => {
      const ctx = CliContext.from(cmd);
      const findings = await runDoctor(ctx.client, {
        readDataplane: async (h: Host) => {
          // A host that is a namespace on this machine (kumo up) is read straight from its kernel: doctor
          // must work when the agent itself is the broken part.
          if (existsSync(`/run/netns/${h.metadata.name}`)) return await new LinuxNetworkDriver({ netns: h.metadata.name }).observe();
          const ip = h.spec?.underlayIP ?? h.status?.addresses?.[0]?.address;
          if (!ip) throw new Error(`host ${h.metadata.name} has no underlay address`);
          return (await getJson(`http://${ip}:${o.agentPort}/debug/dataplane`)) as ObservedDataplane;
        },
        probePing: o.ping
          ? async (netns, ip) => {
              const r = spawnSync("ip", ["netns", "exec", netns, "ping", "-c", "1", "-W", "1", ip], { stdio: "ignore" });
              return r.error ? undefined : r.status === 0;
            }
          : undefined,
      });
      process.stdout.write(formatFindings(findings));
      process.exitCode = findings.some((f) => f.severity === "error") ? 1 : 0;
    });
}
