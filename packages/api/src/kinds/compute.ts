/** compute.kumo.dev: images, flavors and instances (containers and VMs). */
import { Type, type Static } from "@sinclair/typebox";
import type { StatusCause } from "../errors.js";
import { defineKind } from "../kind.js";
import type { KObject } from "../meta.js";
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

/** Schema of an Image's spec. */
export const ImageSpecSchema = Strict({
  format: Type.Union((Object.keys(IMAGE_PARTS) as ImageFormat[]).map((f) => Type.Literal(f))),
  description: Type.Optional(Type.String()),
  /** Kernel command line for kernel+initrd images (appended to the console settings). */
  cmdline: Type.Optional(Type.String()),
});
/** Image spec. */
export type ImageSpec = Static<typeof ImageSpecSchema>;

/** Schema of one uploaded blob, content-addressed. */
export const ImageBlobSchema = Strict({ sha256: Type.String({ pattern: "^[0-9a-f]{64}$" }), size: Type.Integer({ minimum: 0 }) });
/** One uploaded blob, content-addressed. */
export type ImageBlob = Static<typeof ImageBlobSchema>;

/** Schema of an Image's status: Ready once every part of its format is uploaded and verified. */
export const ImageStatusSchema = Strict({
  phase: Type.Optional(Type.Union([Type.Literal("Pending"), Type.Literal("Ready")])),
  blobs: Type.Optional(Type.Record(Type.String(), ImageBlobSchema)),
  conditions: Type.Optional(Conditions),
});
/** Image status. */
export type ImageStatus = Static<typeof ImageStatusSchema>;

/** An Image object. */
export type Image = KObject<ImageSpec, ImageStatus>;

const imageSize = (o: Image) => {
  const b = Object.values(o.status?.blobs ?? {});
  return b.length ? `${(b.reduce((a, x) => a + x.size, 0) / 1048576).toFixed(1)}Mi` : undefined;
};

/** A bootable image (cluster-wide catalog). Blobs go through `PUT .../images/NAME/blobs/PART?sha256=HEX`. */
export const ImageKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Image",
  plural: "images",
  shortNames: ["img"],
  namespaced: false,
  schema: Strict({ spec: ImageSpecSchema, status: Type.Optional(ImageStatusSchema) }),
  columns: [
    { name: "Format", type: "string", value: (o) => o.spec?.format },
    { name: "Status", type: "string", value: (o) => o.status?.phase ?? "Pending" },
    { name: "Size", type: "string", value: imageSize },
  ],
});

/** Schema of a Flavor's spec. */
export const FlavorSpecSchema = Strict({
  cpu: Type.Integer({ minimum: 1, description: "millicores" }),
  memoryMiB: Type.Integer({ minimum: 16 }),
});
/** Flavor spec: a named size. */
export type FlavorSpec = Static<typeof FlavorSpecSchema>;

/** A Flavor object. */
export type Flavor = KObject<FlavorSpec>;

/** A named size (cpu + memory). */
export const FlavorKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Flavor",
  plural: "flavors",
  shortNames: ["fl"],
  namespaced: false,
  statusSubresource: false,
  schema: Strict({ spec: FlavorSpecSchema }),
  columns: [
    { name: "CPU", type: "integer", value: (o) => o.spec?.cpu },
    { name: "Memory", type: "string", value: (o) => `${o.spec?.memoryMiB}Mi` },
  ],
});

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** Schema of an Instance's spec (what the user asks for). */
export const InstanceSpecSchema = Strict({
  kind: Type.Union([Type.Literal("container"), Type.Literal("vm")]),
  image: Type.String({ minLength: 1 }),
  flavor: Type.Optional(Type.String()),
  /** millicores */
  cpu: Type.Optional(Type.Integer({ minimum: 1 })),
  memoryMiB: Type.Optional(Type.Integer({ minimum: 16 })),
  networks: Type.Optional(Type.Array(Strict({ network: Type.String({ minLength: 1 }), port: Type.Optional(Type.String()) }))),
  command: Type.Optional(Type.Array(Type.String())),
  args: Type.Optional(Type.Array(Type.String())),
  env: Type.Optional(StringMap),
  /** false = stopped (kumo instance stop); default true. */
  running: Type.Optional(Type.Boolean()),
  restartPolicy: Type.Optional(Type.Union([Type.Literal("Always"), Type.Literal("OnFailure"), Type.Literal("Never")])),
  /** Only hosts whose labels match all of these. */
  nodeSelector: Type.Optional(StringMap),
  /** Instances sharing a group are placed on different hosts. */
  antiAffinityGroup: Type.Optional(Type.String()),
});
/** Instance spec. */
export type InstanceSpec = Static<typeof InstanceSpecSchema>;

/** The steps of the create flow, in order; each is a condition with its timestamp. */
export const INSTANCE_STEPS = ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "Started", "AddressAssigned", "Running"] as const;

/** The phases of an Instance. */
export const INSTANCE_PHASES = ["Pending", "Scheduled", "Starting", "Running", "Stopped", "Failed", "Terminating"] as const;

/** Schema of an Instance's status. */
export const InstanceStatusSchema = Strict({
  phase: Type.Optional(literals(INSTANCE_PHASES)),
  host: Type.Optional(Type.String()),
  addresses: Type.Optional(
    Type.Array(
      Strict({ network: Type.String(), ip: Type.String(), mac: Type.Optional(Type.String()), port: Type.Optional(Type.String()) }),
    ),
  ),
  acceleration: Type.Optional(Type.Union([Type.Literal("kvm"), Type.Literal("tcg")])),
  startedAt: Type.Optional(Type.String()),
  restarts: Type.Optional(Type.Integer()),
  message: Type.Optional(Type.String()),
  conditions: Type.Optional(Conditions),
});
/** Instance status. */
export type InstanceStatus = Static<typeof InstanceStatusSchema>;

/** An Instance object. */
export type Instance = KObject<InstanceSpec, InstanceStatus>;

/** Annotation whose change asks the agent to reboot the instance (`kumo instance reboot`). */
export const REBOOT_ANNOTATION = "compute.kumo.dev/reboot-requested-at";

const IMMUTABLE_INSTANCE_FIELDS = ["kind", "image", "flavor", "cpu", "memoryMiB"] as const;

/** A container or VM. */
export const InstanceKind = defineKind({
  group: "compute.kumo.dev",
  version: "v1",
  kind: "Instance",
  plural: "instances",
  shortNames: ["inst", "vm"],
  logSubresource: true,
  namespaced: true,
  schema: Strict({ spec: InstanceSpecSchema, status: Type.Optional(InstanceStatusSchema) }),
  columns: [
    { name: "Kind", type: "string", value: (o) => o.spec?.kind },
    { name: "Status", type: "string", value: (o) => o.status?.phase ?? "Pending" },
    { name: "Host", type: "string", value: (o) => o.status?.host },
    { name: "IP", type: "string", value: (o) => o.status?.addresses?.map((a) => a.ip).join(",") },
    { name: "Image", type: "string", value: (o) => o.spec?.image },
    { name: "CPU", type: "integer", priority: 1, value: (o) => o.spec?.cpu },
    { name: "Memory", type: "string", priority: 1, value: (o) => (o.spec?.memoryMiB ? `${o.spec.memoryMiB}Mi` : undefined) },
    { name: "Message", type: "string", priority: 1, value: (o) => o.status?.message },
  ],
  defaults: (o) => {
    const spec = o.spec;
    if (!spec) return;
    spec.running ??= true;
    spec.restartPolicy ??= "Never";
    if (!spec.flavor) {
      spec.cpu ??= spec.kind === "vm" ? 1000 : 250;
      spec.memoryMiB ??= spec.kind === "vm" ? 256 : 64;
    }
  },
  validate: (o, old) => {
    const spec = o.spec!;
    const causes: StatusCause[] = [];
    const invalid = (field: string, message: string) => causes.push({ field, message, reason: "FieldValueInvalid" });
    const os = old?.spec;
    if (os) {
      for (const f of IMMUTABLE_INSTANCE_FIELDS) {
        if (JSON.stringify(os[f]) !== JSON.stringify(spec[f])) {
          invalid(`spec.${f}`, "field is immutable (delete and re-create the instance)");
        }
      }
      if (JSON.stringify(os.networks) !== JSON.stringify(spec.networks)) invalid("spec.networks", "field is immutable");
    }
    if (spec.kind === "vm" && spec.command) invalid("spec.command", "only containers take a command");
    return causes;
  },
});
