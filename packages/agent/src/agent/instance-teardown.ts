/**
 * Removes every instance runtime of one host from its state dir, without the API or a running agent:
 * for `kumo down` / `kumo host remove` (the lab calls it before deleting the host netns). Containers
 * live in their own netns (`<prefix>-i-*`), outside the host netns, so stopping the agent's processes
 * and deleting the host netns would leave them running, with their overlay mounts and cgroups.
 */
import { readdir } from "node:fs/promises";
import { run } from "@kumo/runtime/proc";
import { unplugPort } from "../network/port-plug.js";
import { CompositeRuntimeDriver } from "../runtime/composite.js";
import { QemuDriver } from "../runtime/qemu/qemu-driver.js";
import { RuncDriver } from "../runtime/runc/runc-driver.js";
import { runtimeDir } from "./instance-paths.js";

/** What teardownInstances removed. */
export interface InstanceTeardownReport {
  runtimes: string[];
  netns: string[];
  errors: string[];
}

/**
 * Removes all containers/VMs under `<stateDir>/runtime` and every `<netnsPrefix>-i-*` netns; idempotent.
 * `hostNetns`: the netns the agent ran in (VM taps live there; the agent created them without naming it).
 */
export async function teardownInstances(stateDir: string, netnsPrefix: string, hostNetns?: string): Promise<InstanceTeardownReport> {
  const rt = runtimeDir(stateDir);
  // Short grace: this is a teardown, not a polite stop.
  const driver = new CompositeRuntimeDriver(
    new RuncDriver({ stateDir: rt, stopGraceMs: 1000 }),
    new QemuDriver({ stateDir: rt, stopGraceMs: 1000 }),
  );
  const out: InstanceTeardownReport = { runtimes: [], netns: [], errors: [] };
  for (const s of await driver.list()) {
    try {
      await driver.remove(s.id);
      out.runtimes.push(s.id);
    } catch (e) {
      out.errors.push(`${s.id}: ${(e as Error).message}`);
    }
  }
  if (hostNetns) {
    const r = await run("ip", ["-n", hostNetns, "-json", "link", "show"]);
    const taps =
      r.code === 0 ? (JSON.parse(r.stdout || "[]") as { ifname: string }[]).map((l) => l.ifname).filter((n) => n.startsWith("kt-")) : [];
    for (const t of taps) {
      const d = await run("ip", ["-n", hostNetns, "link", "del", "dev", t]);
      if (d.code !== 0) out.errors.push(`tap ${t}: ${d.stderr.trim()}`);
    }
  }
  for (const ns of await readdir("/run/netns").catch(() => [] as string[])) {
    if (!ns.startsWith(`${netnsPrefix}-i-`)) continue;
    try {
      await unplugPort({ portNetns: ns, ifName: "" });
      out.netns.push(ns);
    } catch (e) {
      out.errors.push(`${ns}: ${(e as Error).message}`);
    }
  }
  return out;
}
