// KVM verdict caching: probe once per host boot, remember the answer in memory and on disk.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AccelChooser } from "./accel.js";

describe("AccelChooser", () => {
  let tmp = "";
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "kumo-accel-test-"));
  });
  after(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  it("uses tcg without probing when the kvm device cannot be opened", async () => {
    const c = new AccelChooser(join(tmp, "none.json"), join(tmp, "no-such-kvm"));
    assert.deepEqual(await c.choose("auto"), { accel: "tcg", probe: false, reason: "no kvm: ENOENT" });
    await assert.rejects(c.choose("kvm"), /unusable/);
    assert.equal((await c.choose("tcg")).accel, "tcg");
  });

  it("probes once, then follows the recorded verdict, also from a new instance", async () => {
    const dev = join(tmp, "fake-kvm"); // any openable file stands in for a working /dev/kvm
    await writeFile(dev, "");
    const file = join(tmp, "verdict.json");
    const c = new AccelChooser(file, dev);
    assert.deepEqual(await c.choose(), { accel: "kvm", probe: true, reason: "probing kvm" });
    await c.record(false, "hung");
    assert.deepEqual(await c.choose(), { accel: "tcg", probe: false, reason: "hung" });
    assert.deepEqual(await new AccelChooser(file, dev).choose(), { accel: "tcg", probe: false, reason: "hung" });
    await new AccelChooser(file, dev).record(true, "fine");
    assert.deepEqual(await new AccelChooser(file, dev).choose(), { accel: "kvm", probe: false, reason: "fine" });
  });

  it("ignores a verdict recorded before the host rebooted", async () => {
    const dev = join(tmp, "fake-kvm2");
    await writeFile(dev, "");
    const file = join(tmp, "old.json");
    await writeFile(file, JSON.stringify({ usable: false, reason: "old", bootId: "another-boot", at: "" }));
    assert.equal((await new AccelChooser(file, dev).choose()).probe, true);
  });
});
