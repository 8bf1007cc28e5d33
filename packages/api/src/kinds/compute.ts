/** compute.kumo.dev: images, flavors and instances (containers and VMs). */
import { Type } from "@sinclair/typebox";
import { defineKind } from "../kind.js";
import type { Condition, KObject } from "../meta.js";
import { Conditions, Strict, StringMap } from "./common.js";

/** Image formats and the blobs ("parts") each needs. */
export const IMAGE_PARTS = {
  "rootfs-tar": ["rootfs"],
  "kernel+initrd": ["kernel", "initrd"],
  qcow2: ["disk"],
  raw: ["disk"],
} as const;

/** An image format. */
export type ImageFormat = keyof typeof IMAGE_PARTS;

/** Image spec. */
export interface ImageSpec {
  format: ImageFormat;
  description?: string;
  /** Kernel command line for kernel+initrd images (appended to the console settings). */
  cmdline?: string;
}

/** One uploaded blob, content-addressed. */
export interface ImageBlob {
  sha256: string;
  size: number;
}

/** Image status: Ready once every part of its format is uploaded and verified. */
export interface ImageStatus {
  phase?: "Pending" | "Ready";
  blobs?: Record<string, ImageBlob>;
  conditions?: Condition[];
}

/** An Image object. */
export type Image = KObject<ImageSpec, ImageStatus>;

/** A bootable image (cluster-wide catalog). Blobs go through `PUT .../images/NAME/blobs/PART?sha256=HEX`. */
export const ImageKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Image",
  plural: "images",
  shortNames: ["img"],
  namespaced: false,
  schema: Strict({
    spec: Strict({
      format: Type.Union(Object.keys(IMAGE_PARTS).map((f) => Type.Literal(f))),
      description: Type.Optional(Type.String()),
      cmdline: Type.Optional(Type.String()),
    }),
    status: Type.Optional(
      Strict({
        phase: Type.Optional(Type.Union([Type.Literal("Pending"), Type.Literal("Ready")])),
        blobs: Type.Optional(Type.Record(Type.String(), Strict({ sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }), size: Type.Integer({ minimum: 0 }) }))),
        conditions: Type.Optional(Conditions),
      }),
    ),
  }),
  columns: [
    { name: "Format", type: "string", value: (o) => (o.spec as ImageSpec).format },
    { name: "Status", type: "string", value: (o) => (o.status as ImageStatus | undefined)?.phase ?? "Pending" },
    { name: "Size", type: "string", value: (o) => { const b = Object.values((o.status as ImageStatus | undefined)?.blobs ?? {}); return b.length ? `${(b.reduce((a, x) => a + x.size, 0) / 1048576).toFixed(1)}Mi` : undefined; } },
  ],
});

/** A named size (cpu + memory). */
export const FlavorKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Flavor",
  plural: "flavors",
  shortNames: ["fl"],
  namespaced: false,
  statusSubresource: false,
  schema: Strict({ spec: Strict({ cpu: Type.Integer({ minimum: 1, description: "millicores" }), memoryMiB: Type.Integer({ minimum: 16 }) }) }),
  columns: [
    { name: "CPU", type: "integer", value: (o) => (o.spec as { cpu: number }).cpu },
    { name: "Memory", type: "string", value: (o) => `${(o.spec as { memoryMiB: number }).memoryMiB}Mi` },
  ],
});

/** Instance spec (what the user asks for). */
export interface InstanceSpec {
  kind: "container" | "vm";
  image: string;
  flavor?: string;
  /** millicores */
  cpu?: number;
  memoryMiB?: number;
  networks?: { network: string; port?: string }[];
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  /** false = stopped (kumo instance stop); default true. */
  running?: boolean;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  /** Only hosts whose labels match all of these. */
  nodeSelector?: Record<string, string>;
  /** Instances sharing a group are placed on different hosts. */
  antiAffinityGroup?: string;
}

/** The steps of the create flow, in order; each is a condition with its timestamp. */
export const INSTANCE_STEPS = ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "Started", "AddressAssigned", "Running"] as const;

/** Instance status. */
export interface InstanceStatus {
  phase?: "Pending" | "Scheduled" | "Starting" | "Running" | "Stopped" | "Failed" | "Terminating";
  host?: string;
  addresses?: { network: string; ip: string; mac?: string; port?: string }[];
  acceleration?: "kvm" | "tcg";
  startedAt?: string;
  restarts?: number;
  message?: string;
  conditions?: Condition[];
}

/** An Instance object. */
export type Instance = KObject<InstanceSpec, InstanceStatus>;

/** Annotation whose change asks the agent to reboot the instance (`kumo instance reboot`). */
export const REBOOT_ANNOTATION = "compute.kumo.dev/reboot-requested-at";

/** A container or VM. */
export const InstanceKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Instance",
  plural: "instances",
  shortNames: ["inst", "vm"],
  logSubresource: true,
  namespaced: true,
  schema: Strict({
    spec: Strict({
      kind: Type.Union([Type.Literal("container"), Type.Literal("vm")]),
      image: Type.String({ minLength: 1 }),
      flavor: Type.Optional(Type.String()),
      cpu: Type.Optional(Type.Integer({ minimum: 1 })),
      memoryMiB: Type.Optional(Type.Integer({ minimum: 16 })),
      networks: Type.Optional(Type.Array(Strict({ network: Type.String({ minLength: 1 }), port: Type.Optional(Type.String()) }))),
      command: Type.Optional(Type.Array(Type.String())),
      args: Type.Optional(Type.Array(Type.String())),
      env: Type.Optional(StringMap),
      running: Type.Optional(Type.Boolean()),
      restartPolicy: Type.Optional(Type.Union([Type.Literal("Always"), Type.Literal("OnFailure"), Type.Literal("Never")])),
      nodeSelector: Type.Optional(StringMap),
      antiAffinityGroup: Type.Optional(Type.String()),
    }),
    status: Type.Optional(
      Strict({
        phase: Type.Optional(Type.Union(["Pending", "Scheduled", "Starting", "Running", "Stopped", "Failed", "Terminating"].map((p) => Type.Literal(p)))),
        host: Type.Optional(Type.String()),
        addresses: Type.Optional(Type.Array(Strict({ network: Type.String(), ip: Type.String(), mac: Type.Optional(Type.String()), port: Type.Optional(Type.String()) }))),
        acceleration: Type.Optional(Type.Union([Type.Literal("kvm"), Type.Literal("tcg")])),
        startedAt: Type.Optional(Type.String()),
        restarts: Type.Optional(Type.Integer()),
        message: Type.Optional(Type.String()),
        conditions: Type.Optional(Conditions),
      }),
    ),
  }),
  columns: [
    { name: "Kind", type: "string", value: (o) => (o.spec as InstanceSpec).kind },
    { name: "Status", type: "string", value: (o) => (o.status as InstanceStatus | undefined)?.phase ?? "Pending" },
    { name: "Host", type: "string", value: (o) => (o.status as InstanceStatus | undefined)?.host },
    { name: "IP", type: "string", value: (o) => (o.status as InstanceStatus | undefined)?.addresses?.map((a) => a.ip).join(",") },
    { name: "Image", type: "string", value: (o) => (o.spec as InstanceSpec).image },
    { name: "CPU", type: "integer", priority: 1, value: (o) => (o.spec as InstanceSpec).cpu },
    { name: "Memory", type: "string", priority: 1, value: (o) => { const m = (o.spec as InstanceSpec).memoryMiB; return m ? `${m}Mi` : undefined; } },
    { name: "Message", type: "string", priority: 1, value: (o) => (o.status as InstanceStatus | undefined)?.message },
  ],
  defaults: (o) => {
    const spec = o.spec as InstanceSpec;
    if (!spec) return;
    spec.running ??= true;
    spec.restartPolicy ??= "Never";
    if (!spec.flavor) {
      spec.cpu ??= spec.kind === "vm" ? 1000 : 250;
      spec.memoryMiB ??= spec.kind === "vm" ? 256 : 64;
    }
  },
  validate: (o, old) => {
    const spec = o.spec as InstanceSpec;
    const causes = [];
    if (old) {
      const os = old.spec as InstanceSpec;
      for (const f of ["kind", "image", "flavor", "cpu", "memoryMiB"] as const) if (JSON.stringify(os[f]) !== JSON.stringify(spec[f])) causes.push({ field: `spec.${f}`, message: "field is immutable (delete and re-create the instance)", reason: "FieldValueInvalid" });
      if (JSON.stringify(os.networks) !== JSON.stringify(spec.networks)) causes.push({ field: "spec.networks", message: "field is immutable", reason: "FieldValueInvalid" });
    }
    if (spec.kind === "vm" && spec.command) causes.push({ field: "spec.command", message: "only containers take a command", reason: "FieldValueInvalid" });
    return causes;
  },
});
