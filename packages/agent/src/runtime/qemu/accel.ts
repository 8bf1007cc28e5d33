// Chooses KVM or TCG for a VM. /dev/kvm existing is not enough: here it is PVM (a paravirtual KVM
// for nested use) on which a stock kernel hangs silently. So "auto" boots the first VM under KVM,
// and the driver reports back whether the guest printed anything; the verdict is kept per host
// boot (file + memory), so only the first VM after a host boot pays the probe timeout.
import { open, readFile, writeFile } from "node:fs/promises";
import type { Acceleration } from "../types.js";

/** Outcome of trying KVM on this host since its last boot. */
export interface KvmVerdict {
  usable: boolean;
  reason: string;
  bootId: string;
  at: string;
}

/** Acceleration to launch with; probe = KVM is unproven, watch the guest and fall back. */
export interface AccelChoice {
  accel: Acceleration;
  probe: boolean;
  reason: string;
}

/** KVM/TCG decision with a cached, persisted KVM verdict. */
export class AccelChooser {
  private verdict: KvmVerdict | null = null;

  constructor(
    private readonly verdictFile: string,
    private readonly kvmDevice = "/dev/kvm",
  ) {}

  /** Decides the acceleration for a requested mode ("kvm" fails when the device cannot be opened). */
  async choose(requested: "auto" | Acceleration = "auto"): Promise<AccelChoice> {
    if (requested === "tcg") return { accel: "tcg", probe: false, reason: "tcg requested" };
    const devErr = await this.deviceError();
    if (requested === "kvm") {
      if (devErr) throw new Error(`kvm requested but ${this.kvmDevice} is unusable: ${devErr}`);
      return { accel: "kvm", probe: false, reason: "kvm requested" };
    }
    if (devErr) return { accel: "tcg", probe: false, reason: `no kvm: ${devErr}` };
    const v = await this.load();
    if (!v) return { accel: "kvm", probe: true, reason: "probing kvm" };
    return v.usable ? { accel: "kvm", probe: false, reason: v.reason } : { accel: "tcg", probe: false, reason: v.reason };
  }

  /** Records the probe result for this host boot. */
  async record(usable: boolean, reason: string): Promise<void> {
    this.verdict = { usable, reason, bootId: await bootId(), at: new Date().toISOString() };
    await writeFile(this.verdictFile, JSON.stringify(this.verdict));
  }

  /** The current verdict, if any (for snapshots). */
  current(): KvmVerdict | null {
    return this.verdict;
  }

  private async load(): Promise<KvmVerdict | null> {
    const id = await bootId();
    if (this.verdict?.bootId === id) return this.verdict;
    try {
      const v = JSON.parse(await readFile(this.verdictFile, "utf8")) as KvmVerdict;
      // A verdict from before a host reboot may be stale (kernel, module or hardware changed).
      this.verdict = v.bootId === id ? v : null;
    } catch {
      this.verdict = null;
    }
    return this.verdict;
  }

  private async deviceError(): Promise<string | null> {
    try {
      const fh = await open(this.kvmDevice, "r+");
      await fh.close();
      return null;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code ?? String(err);
    }
  }
}

async function bootId(): Promise<string> {
  try {
    return (await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim();
  } catch {
    return "unknown";
  }
}
