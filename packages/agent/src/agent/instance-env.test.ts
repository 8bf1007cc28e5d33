/** watchFile: lease-file change notifications (inotify on a temp directory). */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { after, before, describe, it } from "node:test";
import { watchFile } from "./instance-env.js";

describe("watchFile", () => {
  let dir = "";
  before(async () => void (dir = await mkdtemp(join(tmpdir(), "kumo-watchfile-"))));
  after(() => rm(dir, { recursive: true, force: true }));
  const never = new AbortController().signal;

  it("wakes at the file's creation and its changes, long before the timeout", async () => {
    const file = join(dir, "leases");
    const w = watchFile(file);
    try {
      const t0 = performance.now();
      const written = new Promise((r) => setTimeout(r, 20)).then(() => writeFile(file, "1 52:54:00:aa:bb:cc 10.0.0.5 * *\n"));
      await w.next(5_000, never);
      await written;
      assert.ok(performance.now() - t0 < 2_000, "woken by the write, not the timeout");
      await writeFile(file, "changed\n");
      await new Promise((r) => setTimeout(r, 50));
      const t1 = performance.now();
      await w.next(5_000, never);
      assert.ok(performance.now() - t1 < 1_000, "a change made between two waits is not lost (no 5 s timeout)");
    } finally {
      w.close();
    }
  });

  it("ignores other files, times out, and rejects on abort", async () => {
    const w = watchFile(join(dir, "leases2"));
    try {
      await writeFile(join(dir, "hosts"), "x\n");
      const t0 = performance.now();
      await w.next(150, never);
      assert.ok(performance.now() - t0 >= 140, "another file's change does not wake it");
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 10);
      await assert.rejects(w.next(5_000, ac.signal), { name: "AbortError" });
    } finally {
      w.close();
    }
  });

  it("without the directory it only times out", async () => {
    const w = watchFile(join(dir, "missing", "leases"));
    const t0 = performance.now();
    await w.next(50, never);
    assert.ok(performance.now() - t0 >= 45);
    w.close();
  });
});
