/**
 * Pure mapping from API objects to what the runtime drivers take: runtime ids, netns and tap names,
 * the instance's ports on this host, and the container/VM runtime specs. No I/O, so the whole
 * naming and spec logic is unit-tested.
 */
import { createHash } from "node:crypto";
import { REBOOT_ANNOTATION, type Instance, type Network, type Port } from "@kumo/api";
import type { ContainerRuntimeSpec, VmNicSpec, VmRuntimeSpec } from "../runtime/types.js";
import { deviceNames } from "../network/types.js";
import type { CachedImage } from "./image-cache.js";

/** 8 hex chars of the SHA-1 of an instance uid: names its netns and suffixes its runtime id. */
export function uidHash(uid: string): string {
  return createHash("sha1").update(uid).digest("hex").slice(0, 8);
}

/** Runtime (runc/QEMU) id: `<first 24 chars of name>-<8 hex of uid>`: readable in `runc list`, unique across projects and
 * re-creations, and short enough for the QMP socket path (sun_path is 108 bytes). */
export function runtimeId(inst: Instance): string {
  const name = inst.metadata.name!.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 24);
  return `${name}-${uidHash(inst.metadata.uid!)}`;
}

/** The uid hash at the end of a runtime id (orphan sweeps map ids back to netns names). */
export function hashOfRuntimeId(id: string): string | undefined {
  return /-([0-9a-f]{8})$/.exec(id)?.[1];
}

/** Container netns: `<host>-i-<8 hex of uid>` (the host prefix keeps one agent's sweep off another's). */
export function instanceNetns(prefix: string, hash: string): string {
  return `${prefix}-i-${hash}`;
}

/** Host-side tap of a VM NIC: `kt-` + 10 hex of the port uid (≤ 15 chars). */
export function vmTapName(portUid: string): string {
  return "kt-" + createHash("sha1").update(portUid).digest("hex").slice(0, 10);
}

/** One spec.networks entry and the port that realises it on this host (if bound yet). */
export interface InstancePort {
  network: string;
  portName: string;
  port?: Port;
  /** Why the port is not usable yet (undefined when it is). */
  waiting?: string;
}

/** The instance's ports: `spec.networks[i].port`, else `<instance>-<network>` (the server's naming). */
export function instancePorts(inst: Instance, ports: Port[], self: string): InstancePort[] {
  const ns = inst.metadata.namespace;
  const owner = `instance:${inst.metadata.name}`;
  return (inst.spec!.networks ?? []).map((n) => {
    const portName = n.port ?? `${inst.metadata.name}-${n.network}`;
    const p = ports.find((x) => x.metadata.namespace === ns && x.metadata.name === portName && !x.metadata.deletionTimestamp);
    let waiting: string | undefined;
    if (!p) waiting = `port ${portName} does not exist yet`;
    else if (p.spec!.network !== n.network) waiting = `port ${portName} is on network ${p.spec!.network}, not ${n.network}`;
    else if (p.spec!.deviceOwner && p.spec!.deviceOwner !== owner) waiting = `port ${portName} belongs to ${p.spec!.deviceOwner}`;
    else if (p.spec!.hostBinding !== self) waiting = `port ${portName} is not bound to this host yet`;
    else if (!p.spec!.macAddress || !p.spec!.fixedIPs?.length) waiting = `port ${portName} has no MAC/IP yet`;
    return { network: n.network, portName, port: waiting ? undefined : p, waiting };
  });
}

/** The network object of a port's network in the instance's namespace. */
export function networkOf(networks: Network[], ns: string | undefined, name: string): Network | undefined {
  return networks.find((n) => n.metadata.namespace === ns && n.metadata.name === name);
}

/** Annotation where the server records the resolved cpu/memory (a Flavor's, when spec has none). */
export const RESOURCES_ANNOTATION = "compute.kumo.dev/resources";

/** cpu (millicores) and memory of an instance: spec first, else the server's resolved annotation, else defaults. */
export function instanceResources(inst: Instance): { cpu: number; memoryMiB: number } {
  let r: { cpu?: number; memoryMiB?: number } = {};
  try {
    r = JSON.parse(inst.metadata.annotations?.[RESOURCES_ANNOTATION] ?? "{}") as typeof r;
  } catch {
    // a malformed annotation: fall back to the defaults below
  }
  const vm = inst.spec!.kind === "vm";
  return { cpu: inst.spec!.cpu ?? r.cpu ?? (vm ? 1000 : 250), memoryMiB: inst.spec!.memoryMiB ?? r.memoryMiB ?? (vm ? 256 : 64) };
}

/** Default process of a container whose spec has no command: keep running, do nothing. */
export const DEFAULT_COMMAND = ["/bin/sh", "-c", "exec sleep 2147483647"];

/** The runc spec of a container instance. */
export function containerRuntimeSpec(
  inst: Instance,
  id: string,
  img: CachedImage,
  net?: { netnsPath: string; resolvConf?: string },
): ContainerRuntimeSpec {
  const s = inst.spec!;
  const res = instanceResources(inst);
  if (!img.rootfs) throw new Error(`image ${img.name} (${img.format}) is not a container image: use a rootfs-tar image or --kind vm`);
  return {
    id,
    kind: "container",
    rootfs: img.rootfs,
    memoryMiB: res.memoryMiB,
    cpuMillicores: res.cpu,
    command: s.command?.length ? s.command : s.args?.length ? [] : DEFAULT_COMMAND,
    args: s.args,
    env: s.env,
    restartPolicy: s.restartPolicy ?? "Never",
    hostname: inst.metadata.name!.slice(0, 63),
    netnsPath: net?.netnsPath,
    // The DHCP client writes the lease's DNS settings beside the netns; the container sees them.
    mounts: net?.resolvConf ? [{ source: net.resolvConf, destination: "/etc/resolv.conf", readonly: true }] : undefined,
  };
}

/** The QEMU spec of a VM instance; `netns` undefined = QEMU and taps live in the agent's (host) netns. */
export function vmRuntimeSpec(inst: Instance, id: string, img: CachedImage, cmdline: string | undefined, nics: VmNicSpec[]): VmRuntimeSpec {
  const s = inst.spec!;
  const res = instanceResources(inst);
  const base = {
    id,
    kind: "vm" as const,
    memoryMiB: res.memoryMiB,
    vcpus: Math.max(1, Math.ceil(res.cpu / 1000)),
    restartPolicy: s.restartPolicy ?? "Never",
    hostname: inst.metadata.name!.slice(0, 63),
    nics,
    accel: "auto" as const,
  };
  if (img.format === "kernel+initrd") return { ...base, kernel: img.files.kernel, initrd: img.files.initrd, cmdline };
  if (img.format === "qcow2" || img.format === "raw") return { ...base, disk: img.files.disk, diskFormat: img.format };
  throw new Error(`image ${img.name} (${img.format}) is not a VM image: use kernel+initrd, qcow2 or raw, or --kind container`);
}

/** The NIC of a bound port on its network's bridge. */
export function vmNic(port: Port, network: Network): VmNicSpec {
  return {
    bridge: deviceNames(network.spec!.vni!).bridge,
    mac: port.spec!.macAddress!,
    tapName: vmTapName(port.metadata.uid!),
    mtu: network.spec!.mtu ?? 1450,
  };
}

/** True when a reboot was requested (annotation time) after the running instance started. */
export function rebootRequested(inst: Instance, startedAt: string | null | undefined): boolean {
  const at = Date.parse(inst.metadata.annotations?.[REBOOT_ANNOTATION] ?? "");
  const started = Date.parse(startedAt ?? "");
  return !Number.isNaN(at) && !Number.isNaN(started) && at > started;
}

/** What changes of an instance should interrupt a worker busy with it (deletion, stop/start, reboot). */
export function interruptKey(inst: Instance | undefined): string {
  if (!inst) return "gone";
  return JSON.stringify([
    !!inst.metadata.deletionTimestamp,
    inst.spec!.running !== false,
    inst.metadata.annotations?.[REBOOT_ANNOTATION] ?? "",
  ]);
}
