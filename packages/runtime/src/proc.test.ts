import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidAlive, procCmdline, procInNetns, readPidFile, run, runOk, terminate } from "./proc.js";

test("run captures output and exit status, feeds stdin, and kills at the timeout; runOk throws with stderr", async () => {
  assert.deepEqual(await run("sh", ["-c", "echo out; echo err >&2; exit 3"]), { code: 3, stdout: "out\n", stderr: "err\n" });
  assert.equal((await run("cat", [], { input: "fed\n" })).stdout, "fed\n");
  const t0 = Date.now();
  assert.equal((await run("sleep", ["5"], { timeoutMs: 50 })).code, 128);
  assert.ok(Date.now() - t0 < 2000);
  await assert.rejects(runOk("sh", ["-c", "echo nope >&2; exit 1"]), /sh -c .* exited 1: nope/);
  await assert.rejects(run("/nonexistent/binary", []), /ENOENT/);
});

test("pid checks: alive, argv, netns, pid files; terminate ends a process that ignores SIGTERM", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kumo-proc-"));
  const child = spawn("sh", ["-c", "trap '' TERM; while :; do sleep 0.05; done", "", "x"], { stdio: "ignore" });
  try {
    const pid = child.pid!;
    assert.equal(await pidAlive(pid), true);
    assert.deepEqual((await procCmdline(pid)).slice(0, 2), ["sh", "-c"]);
    assert.equal((await procCmdline(pid))[3], "", "an empty argument is kept");
    assert.equal(await procInNetns(pid, undefined), true);
    await writeFile(join(dir, "pid"), `${pid}\n`);
    assert.equal(await readPidFile(join(dir, "pid")), pid);
    await writeFile(join(dir, "bad"), "1\n");
    assert.equal(await readPidFile(join(dir, "bad")), undefined);
    assert.equal(await readPidFile(join(dir, "missing")), undefined);
    await terminate(pid, 100);
    assert.equal(await pidAlive(pid), false, "gone (or a reaped zombie) after SIGKILL");
    assert.deepEqual(await procCmdline(pid), []);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});
