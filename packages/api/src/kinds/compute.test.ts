import { test } from "node:test";
import assert from "node:assert/strict";
import type { KindDefinition } from "../kind.js";
import type { KObject } from "../meta.js";
import { validateObject } from "../validation.js";
import { FlavorKind, ImageKind, InstanceKind, type Image, type Instance, type InstanceSpec } from "./compute.js";

function admit(kind: KindDefinition, obj: KObject, old?: KObject) {
  kind.defaults?.(obj);
  return validateObject(obj, kind, old);
}
/** The fields named, once each (a missing required field gets two messages from the schema). */
const fields = (causes: { field?: string }[]) => [...new Set(causes.map((c) => c.field))];
const image = (spec: Image["spec"], status?: Image["status"]): Image => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Image",
  metadata: { name: "alpine" },
  spec,
  status,
});
const inst = (spec: Partial<InstanceSpec>, status?: Instance["status"]): Instance => ({
  apiVersion: "compute.kumo.dev/v1",
  kind: "Instance",
  metadata: { name: "i1", namespace: "p" },
  spec: { kind: "container", image: "alpine", ...spec },
  status,
});
const immutable = (field: string) => ({
  field,
  message: "field is immutable (delete and re-create the instance)",
  reason: "FieldValueInvalid",
});

test("Image: every format of IMAGE_PARTS is accepted, anything else is refused on spec.format", () => {
  for (const format of ["rootfs-tar", "kernel+initrd", "qcow2", "raw"] as const)
    assert.deepEqual(admit(ImageKind, image({ format })), [], format);
  assert.deepEqual(fields(admit(ImageKind, image({ format: "iso" as "raw" }))), ["spec.format"]);
  const { spec: _, ...noSpec } = image({ format: "raw" });
  assert.deepEqual(fields(admit(ImageKind, noSpec as KObject)), ["spec"]);
});

test("Image: blobs are content-addressed (64 hex digits) with a size", () => {
  const sha = "a".repeat(64);
  assert.deepEqual(admit(ImageKind, image({ format: "raw" }, { phase: "Ready", blobs: { disk: { sha256: sha, size: 10 } } })), []);
  assert.deepEqual(fields(admit(ImageKind, image({ format: "raw" }, { blobs: { disk: { sha256: "A".repeat(64), size: -1 } } }))), [
    "status.blobs.disk.sha256",
    "status.blobs.disk.size",
  ]);
});

test("Image: columns show format, phase (Pending until uploaded) and total size in MiB", () => {
  const sha = "b".repeat(64);
  const ready = image(
    { format: "kernel+initrd" },
    { phase: "Ready", blobs: { kernel: { sha256: sha, size: 1048576 }, initrd: { sha256: sha, size: 524288 } } },
  );
  assert.deepEqual(
    ImageKind.columns.map((c) => c.value(ready)),
    ["kernel+initrd", "Ready", "1.5Mi"],
  );
  assert.deepEqual(
    ImageKind.columns.map((c) => c.value(image({ format: "raw" }))),
    ["raw", "Pending", undefined],
  );
});

test("Flavor: cpu (millicores) and memory have lower bounds", () => {
  const flavor = (spec: Record<string, unknown>) => ({
    apiVersion: "compute.kumo.dev/v1",
    kind: "Flavor",
    metadata: { name: "small" },
    spec,
  });
  assert.deepEqual(admit(FlavorKind, flavor({ cpu: 500, memoryMiB: 128 })), []);
  assert.deepEqual(fields(admit(FlavorKind, flavor({ cpu: 0, memoryMiB: 8 }))), ["spec.cpu", "spec.memoryMiB"]);
  assert.deepEqual(fields(admit(FlavorKind, flavor({ cpu: 1 }))), ["spec.memoryMiB"]);
  assert.deepEqual(
    FlavorKind.columns.map((c) => c.value(flavor({ cpu: 500, memoryMiB: 128 }))),
    [500, "128Mi"],
  );
});

test("Instance: defaults run it, never restart it, and size containers and VMs differently unless a flavor sizes them", () => {
  const c = inst({});
  assert.deepEqual(admit(InstanceKind, c), []);
  assert.deepEqual(c.spec, { kind: "container", image: "alpine", running: true, restartPolicy: "Never", cpu: 250, memoryMiB: 64 });
  const vm = inst({ kind: "vm", running: false, restartPolicy: "Always" });
  admit(InstanceKind, vm);
  assert.deepEqual([vm.spec?.cpu, vm.spec?.memoryMiB, vm.spec?.running, vm.spec?.restartPolicy], [1000, 256, false, "Always"]);
  const flavored = inst({ flavor: "small" });
  admit(InstanceKind, flavored);
  assert.deepEqual([flavored.spec?.cpu, flavored.spec?.memoryMiB], [undefined, undefined]);
  const sized = inst({ cpu: 100, memoryMiB: 32 });
  admit(InstanceKind, sized);
  assert.deepEqual([sized.spec?.cpu, sized.spec?.memoryMiB], [100, 32]);
});

test("Instance: the schema checks kind, image, sizes, networks and restart policy by field", () => {
  assert.deepEqual(fields(admit(InstanceKind, inst({ kind: "pod" as "vm" }))), ["spec.kind"]);
  assert.deepEqual(fields(admit(InstanceKind, inst({ image: "", cpu: 0, memoryMiB: 15 }))), ["spec.image", "spec.cpu", "spec.memoryMiB"]);
  assert.deepEqual(fields(admit(InstanceKind, inst({ networks: [{ network: "" }], restartPolicy: "Sometimes" as "Never" }))), [
    "spec.networks[0].network",
    "spec.restartPolicy",
  ]);
  assert.deepEqual(fields(admit(InstanceKind, inst({}, { phase: "Sleeping" as "Running" }))), ["status.phase"]);
});

test("Instance: only containers take a command", () => {
  assert.deepEqual(admit(InstanceKind, inst({ command: ["sleep", "1"] })), []);
  assert.deepEqual(admit(InstanceKind, inst({ kind: "vm", command: ["sleep"] })), [
    { field: "spec.command", message: "only containers take a command", reason: "FieldValueInvalid" },
  ]);
});

test("Instance: what it is and where it plugs in are fixed; running and restart policy may change", () => {
  const old = inst({ networks: [{ network: "n1" }] });
  admit(InstanceKind, old);
  const changed = inst({ kind: "vm", image: "debian", flavor: "big", cpu: 2000, memoryMiB: 512, networks: [{ network: "n2" }] });
  assert.deepEqual(admit(InstanceKind, changed, old), [
    immutable("spec.kind"),
    immutable("spec.image"),
    immutable("spec.flavor"),
    immutable("spec.cpu"),
    immutable("spec.memoryMiB"),
    { field: "spec.networks", message: "field is immutable", reason: "FieldValueInvalid" },
  ]);
  const stopped = structuredClone(old);
  stopped.spec!.running = false;
  stopped.spec!.restartPolicy = "OnFailure";
  assert.deepEqual(admit(InstanceKind, stopped, old), []);
});

test("Instance: columns show kind, phase, host, addresses, image, and the wide cpu, memory and message", () => {
  const i = inst(
    { cpu: 250, memoryMiB: 64 },
    { phase: "Running", host: "h1", addresses: [{ network: "n1", ip: "10.0.0.5" }], message: "ok" },
  );
  assert.deepEqual(
    InstanceKind.columns.map((c) => c.value(i)),
    ["container", "Running", "h1", "10.0.0.5", "alpine", 250, "64Mi", "ok"],
  );
  assert.deepEqual(
    InstanceKind.columns.map((c) => c.value(inst({}))),
    ["container", "Pending", undefined, undefined, "alpine", undefined, undefined, undefined],
  );
});
