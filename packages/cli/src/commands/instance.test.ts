// `kumo instance` pieces that need no server: the spec create sends (and its refusals), and the
// describe timeline (order, durations, where it stopped).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Instance } from "@kumo/api";
import { UserError } from "../errors.js";
import { createSpec, instanceDescribeLines, timelineLines } from "./instance.js";
import { partFiles } from "./image.js";

const base = { image: "busybox", network: ["net1"], kind: "container", env: [] as string[], timeout: "60" };
const T0 = Date.parse("2026-11-24T10:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();

describe("instance create spec", () => {
  it("maps flags and the words after -- to the spec", () => {
    const s = createSpec({ ...base, cpu: "500", memory: "128", env: ["A=1", "B=x=y"], restart: "OnFailure" }, ["sleep", "60"]);
    assert.deepEqual(s, {
      kind: "container",
      image: "busybox",
      networks: [{ network: "net1" }],
      cpu: 500,
      memoryMiB: 128,
      command: ["sleep", "60"],
      env: { A: "1", B: "x=y" },
      running: true,
      restartPolicy: "OnFailure",
    });
    assert.equal(createSpec({ ...base, kind: "vm", stopped: true }, []).running, false);
  });

  it("refuses bad input with a UserError before calling the server", () => {
    for (const [o, cmd, re] of [
      [{ ...base, kind: "pod" }, [], /--kind must be container or vm/],
      [{ ...base, kind: "vm" }, ["sh"], /no command after --/],
      [{ ...base, cpu: "1.5" }, [], /--cpu must be a positive whole number/],
      [{ ...base, env: ["NOVALUE"] }, [], /--env takes K=V/],
      [{ ...base, restart: "Sometimes" }, [], /--restart must be/],
    ] as const)
      assert.throws(
        () => createSpec(o as typeof base, [...cmd]),
        (e: Error) => e instanceof UserError && re.test(e.message),
      );
  });

  it("image upload needs the files its format has parts for", () => {
    assert.throws(
      () => partFiles({ format: "tarball" }),
      /unknown image format "tarball": use one of rootfs-tar, kernel\+initrd, qcow2, raw/,
    );
    assert.throws(() => partFiles({ format: "kernel+initrd", kernel: "/etc/hostname" }), /needs --initrd/);
    assert.throws(() => partFiles({ format: "raw" }), /needs --file/);
    assert.throws(() => partFiles({ format: "raw", file: "/nonexistent/disk" }), /not a readable file/);
    assert.deepEqual(partFiles({ format: "rootfs-tar", file: "/etc/hostname" }), { rootfs: "/etc/hostname" });
  });
});

describe("instance timeline", () => {
  const inst = (
    conditions: NonNullable<Instance["status"]>["conditions"],
    extra: Partial<NonNullable<Instance["status"]>> = {},
  ): Instance => ({
    apiVersion: "compute.kumo.dev/v1",
    kind: "Instance",
    metadata: { name: "v1", namespace: "default", uid: "u", creationTimestamp: at(0) },
    spec: { kind: "vm", image: "tiny-vm" },
    status: { host: "h1", phase: "Starting", conditions, ...extra },
  });

  it("shows each step with its time and the time since the step before, and where it stopped", () => {
    const lines = timelineLines(
      inst([
        { type: "Scheduled", status: "True", reason: "Assigned", lastTransitionTime: at(500) },
        { type: "ImageReady", status: "True", reason: "Cached", lastTransitionTime: at(520) },
        { type: "Started", status: "True", reason: "QEMU", lastTransitionTime: at(800) },
        { type: "AddressAssigned", status: "False", reason: "NoLease", message: "no DHCP lease yet", lastTransitionTime: at(900) },
      ]),
    );
    const row = (step: string) =>
      lines
        .find((l) => l.trim().startsWith(step))!
        .trim()
        .split(/\s{2,}/);
    assert.deepEqual(row("Scheduled"), ["Scheduled", "True", "2026-11-24 10:00:00.500Z", "+500ms", "Assigned"]);
    assert.deepEqual(row("Started").slice(0, 4), ["Started", "True", "2026-11-24 10:00:00.800Z", "+280ms"]);
    assert.deepEqual(row("PortBound"), ["PortBound", "Pending"]);
    assert.match(lines.at(-1)!, /stopped at PortBound: not reached yet/);
    assert.ok(lines.findIndex((l) => l.includes("Started")) < lines.findIndex((l) => l.includes("AddressAssigned")));
  });

  it("says when it has been Running since, and describe names host, addresses and acceleration", () => {
    const all = ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "Started", "AddressAssigned", "Running"].map((type, i) => ({
      type,
      status: "True" as const,
      lastTransitionTime: at(1000 * (i + 1)),
    }));
    const obj = inst(all, {
      phase: "Running",
      acceleration: "tcg",
      addresses: [{ network: "net1", ip: "10.0.0.4", mac: "02:00:00:00:00:04" }],
    });
    assert.match(timelineLines(obj).at(-1)!, /Running since 2026-11-24 10:00:07.000Z: 7s after creation$/);
    const d = instanceDescribeLines(obj, [], T0 + 60_000).join("\n");
    for (const re of [/Host:\s+h1/, /Addresses:\s+net1 10\.0\.0\.4 \(02:00:00:00:00:04\)/, /Acceleration:\s+tcg/, /Events:\n {2}<none>/])
      assert.match(d, re);
  });
});
