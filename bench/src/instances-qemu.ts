/**
 * Baseline for VM starts: QEMU run by hand with the agent's own command line (vmRuntimeSpec →
 * buildQemuArgs, TCG as the agent ends up using here), its tap on a scratch bridge in a scratch
 * netns, and a dnsmasq there (DnsmasqDriver, the agent's command line) holding a static lease for
 * the VM's MAC. Timed from tap creation to the lease appearing in dnsmasq's lease file (what the
 * agent polls for AddressAssigned), and to the guest's `kumo-vm: eth0 <ip>` serial marker.
 * Every process, tap, bridge and the netns are removed in close(), by pid and name.
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Instance } from "@kumo/api";
import { vmRuntimeSpec } from "@kumo/agent/agent/instance-spec";
import { DnsmasqDriver, type DhcpHost } from "@kumo/agent/dhcp/index";
import { dnsmasqPaths } from "@kumo/agent/dhcp/dnsmasq-config";
import { parseLeases } from "@kumo/agent/dhcp/dnsmasq-log";
import { run, runOk } from "@kumo/runtime/proc";
import { buildQemuArgs, type VmPaths } from "@kumo/agent/runtime/qemu/qemu-args";
import { isOurQemu, killQemu } from "@kumo/agent/runtime/qemu/qemu-process";
import { createTaps, deleteTaps } from "@kumo/agent/runtime/qemu/tap";

const BRIDGE = "kbr0";
const NET = "bench";
const MTU = 1450;

/** One plain boot: ms from tap creation to the DHCP lease and to the guest's address marker. */
export interface PlainBoot {
  leaseMs: number;
  markerMs: number;
}

/** The scratch netns with bridge + dnsmasq, and QEMU boots in it. */
export class PlainQemu {
  private readonly ns = `kbench-vm-${process.pid}`;
  private dhcp?: DnsmasqDriver;
  private readonly hosts: DhcpHost[] = [];
  private readonly launched = new Set<VmPaths>();

  private constructor(
    private readonly dir: string,
    private readonly kernel: string,
    private readonly initrd: string,
    private readonly cmdline: string | undefined,
  ) {}

  /** Creates netns, bridge (10.77.0.1/24, MTU 1450) and starts dnsmasq serving `count` static leases. */
  static async open(kernel: string, initrd: string, cmdline: string | undefined, count: number): Promise<PlainQemu> {
    // Under /run: QMP socket paths must stay below 108 bytes.
    const dir = await mkdtemp("/run/kumo-bench-vm-");
    const q = new PlainQemu(dir, kernel, initrd, cmdline);
    try {
      await runOk("ip", ["netns", "add", q.ns]);
      await runOk("ip", ["-n", q.ns, "-batch", "-"], {
        input:
          `link set lo up\nlink add ${BRIDGE} type bridge\n` +
          `link set dev ${BRIDGE} mtu ${MTU} up\naddr add 10.77.0.1/24 dev ${BRIDGE}\n`,
      });
      for (let i = 0; i < count; i++) q.hosts.push({ mac: q.mac(i), ip: `10.77.0.${10 + i}`, name: `plain-${i}` });
      q.dhcp = new DnsmasqDriver({ stateDir: join(dir, "dhcp"), netns: q.ns, user: "root" });
      await q.dhcp.ensure({
        network: NET,
        project: "bench",
        interface: BRIDGE,
        cidr: "10.77.0.0/24",
        serverAddress: "10.77.0.1",
        mtu: MTU,
        domain: "bench.bench.kumo",
        hosts: q.hosts,
      });
      return q;
    } catch (e) {
      await q.close();
      throw e;
    }
  }

  private mac(i: number): string {
    return `02:4b:42:00:00:${(i + 16).toString(16).padStart(2, "0")}`;
  }

  /** Boots VM number i (shaped like `inst`) to its lease and serial marker, then stops it. */
  async boot(i: number, inst: Instance, timeoutMs = 90_000): Promise<PlainBoot> {
    const h = this.hosts[i];
    const tapName = `kbt${process.pid % 100000}-${i}`.slice(0, 15);
    const nics = [{ bridge: BRIDGE, mac: h.mac, tapName, mtu: MTU }];
    const spec = {
      ...vmRuntimeSpec(
        inst,
        `plain-${i}`,
        {
          name: "tiny-vm",
          format: "kernel+initrd",
          files: { kernel: this.kernel, initrd: this.initrd },
          hit: true,
          downloadedBytes: 0,
          ms: 0,
        },
        this.cmdline,
        nics,
      ),
      accel: "tcg" as const,
      netns: this.ns,
    };
    const vdir = join(this.dir, `vm${i}`);
    await mkdir(vdir, { recursive: true });
    const p: VmPaths = {
      dir: vdir,
      pidFile: join(vdir, "qemu.pid"),
      qmpSocket: join(vdir, "qmp.sock"),
      serialLog: join(vdir, "serial.log"),
      qemuLog: join(vdir, "qemu.log"),
      metaFile: join(vdir, "meta.json"),
    };
    const leaseFile = dnsmasqPaths(join(this.dir, "dhcp"), NET).leaseFile;
    const t0 = performance.now();
    await createTaps(this.ns, nics);
    try {
      this.launched.add(p);
      const r = await run("ip", ["netns", "exec", this.ns, "qemu-system-x86_64", ...buildQemuArgs(spec, p, "tcg")], { timeoutMs: 30_000 });
      if (r.code !== 0)
        throw new Error(`plain qemu failed (${r.code}): ${r.stderr.trim()} ${(await readFile(p.qemuLog, "utf8").catch(() => "")).trim()}`);
      let leaseMs = NaN;
      let markerMs = NaN;
      const marker = `kumo-vm: eth0 ${h.ip}`;
      const deadline = Date.now() + timeoutMs;
      while (Number.isNaN(leaseMs) || Number.isNaN(markerMs)) {
        if (Date.now() > deadline) throw new Error(`plain VM ${i}: no lease/marker within ${timeoutMs} ms`);
        if (
          Number.isNaN(leaseMs) &&
          parseLeases(await readFile(leaseFile, "utf8").catch(() => "")).some((l) => l.mac === h.mac && l.ip === h.ip)
        )
          leaseMs = performance.now() - t0;
        if (Number.isNaN(markerMs) && (await readFile(p.serialLog, "utf8").catch(() => "")).includes(marker))
          markerMs = performance.now() - t0;
        await new Promise((res) => setTimeout(res, 10));
      }
      return { leaseMs, markerMs };
    } finally {
      await this.stopAll();
      await deleteTaps(this.ns, nics);
    }
  }

  // Ends the QEMUs we launched (pid from their pid file): QMP quit, then SIGKILL if still ours.
  private async stopAll(): Promise<void> {
    for (const p of this.launched) {
      const pid = Number((await readFile(p.pidFile, "utf8").catch(() => "")).trim());
      if (pid > 0 && (await isOurQemu(pid, p))) await killQemu(p, pid);
      this.launched.delete(p);
    }
  }

  /** Stops QEMU and dnsmasq, deletes the netns (bridge and taps go with it) and the temp dir. */
  async close(): Promise<void> {
    await this.stopAll().catch(() => undefined);
    await this.dhcp?.remove(NET).catch(() => undefined);
    spawnSync("ip", ["netns", "del", this.ns]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
