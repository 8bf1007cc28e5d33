// Real runc and crun: containers in a test-made netns, logs, cgroup limits, exec, adoption after the
// creating process exits, death detection, restart policy, OOM, and clean removal.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, readlink, rm, rmdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pidAlive, runOk } from "@kumo/runtime/proc";
import { waitFor } from "../support.js";
import { buildImage, createNetns, deleteNetns, skipReason } from "../testing.js";
import type { ContainerRuntimeSpec, InstanceRuntimeStatus } from "../types.js";
import { isMountPoint } from "./rootfs.js";
import { RuncDriver, type RuncDriverOptions } from "./runc-driver.js";

const CONTROLLERS = ["memory", "cpu", "pids", "cpuset", "devices", "freezer", "blkio", "cpuacct", "systemd", "unified"];

// crun runs the same suite: the driver wraps it for this host's hybrid cgroup layout.
for (const runtime of ["runc", "crun"] as const) {
  const skip = skipReason([runtime, "busybox", "ip", "tar", "mount"]);
  const tag = `${runtime}${process.pid}`;
  const netnsName = `kumo-${tag}`;
  const cgroupParent = `kumo-test-${tag}`;

  describe(`RuncDriver (real ${runtime})`, { skip }, () => {
    let tmp = "";
    let rootfs = "";
    let netnsPath = "";
    let opts: RuncDriverOptions;
    let driver: RuncDriver;
    const ids = new Set<string>();

    const spec = (id: string, over: Partial<ContainerRuntimeSpec> = {}): ContainerRuntimeSpec => {
      ids.add(id);
      return { id, kind: "container", rootfs, memoryMiB: 64, command: ["sleep", "1000"], netnsPath, ...over };
    };
    const logHas = (id: string, text: string) => waitFor(async () => (await driver.logs(id)).includes(text), 3000);

    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), "kumo-runc-test-"));
      await buildImage("build-busybox-rootfs.sh", join(tmp, "img"));
      rootfs = join(tmp, "rootfs");
      await runOk("mkdir", ["-p", rootfs]);
      await runOk("tar", ["-xf", join(tmp, "img", "busybox-rootfs.tar"), "-C", rootfs]);
      netnsPath = await createNetns(netnsName);
      opts = { stateDir: join(tmp, "state"), runtime, cgroupParent, stopGraceMs: 300 };
      driver = new RuncDriver(opts);
    });

    after(async () => {
      // Cleanup even when assertions failed: containers (runc delete --force kills only our own
      // containers, by id), their cgroups, the netns and the temp dir.
      const d = new RuncDriver(opts);
      for (const id of ids) await d.remove(id).catch((e) => console.error(`cleanup ${id}:`, e));
      for (const c of CONTROLLERS) await rmdir(`/sys/fs/cgroup/${c}/${cgroupParent}`).catch(() => undefined);
      await deleteNetns(netnsName);
      if (tmp) await rm(tmp, { recursive: true, force: true });
    });

    it("starts in the given netns with stdout in the log and cgroup limits applied", async () => {
      const s = await driver.ensure(
        spec("web", {
          command: ["sh", "-c", "echo hello-stdout; echo hello-stderr >&2; exec sleep 1000"],
          cpuMillicores: 500,
          pidsLimit: 64,
        }),
      );
      assert.equal(s.state, "running");
      assert.ok(s.pid && (await pidAlive(s.pid)));
      for (const k of ["prepare", "create", "start", "total"]) assert.equal(typeof s.timings[k], "number", k);
      assert.ok(await logHas("web", "hello-stdout"), "stdout reaches the log");
      assert.ok(await logHas("web", "hello-stderr"), "stderr reaches the log");
      const [inNs, testNs] = await Promise.all([readlink(`/proc/${s.pid}/ns/net`), stat(netnsPath)]);
      assert.equal(inNs, `net:[${testNs.ino}]`, "container joined the test netns");
      const cg = (c: string, f: string) => readFile(`/sys/fs/cgroup/${c}/${cgroupParent}/web/${f}`, "utf8");
      assert.equal(Number(await cg("memory", "memory.limit_in_bytes")), 64 * 1024 * 1024);
      assert.equal(Number(await cg("cpu", "cpu.cfs_quota_us")), 50_000);
      assert.equal((await cg("pids", "pids.max")).trim(), "64");
    });

    it("exec runs commands inside (with CAP_NET_RAW for ping) and returns exit codes", async () => {
      const r = await driver.exec("web", ["sh", "-c", "echo $((6*7)); hostname"]);
      assert.deepEqual([r.exitCode, r.stdout.trim()], [0, "42\nweb"]);
      const ping = await driver.exec("web", ["ping", "-c", "1", "-W", "2", "127.0.0.1"]);
      assert.equal(ping.exitCode, 0, ping.stderr);
      assert.equal((await driver.exec("web", ["sh", "-c", "exit 3"])).exitCode, 3);
    });

    it("ensure is idempotent for a running container", async () => {
      const before = (await driver.list()).find((s) => s.id === "web");
      const again = await driver.ensure(spec("web"));
      assert.equal(again.pid, before?.pid);
      assert.equal(again.state, "running");
    });

    it("a new agent adopts containers started by a process that has exited", async () => {
      const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
      const mod = new URL(`./runc-driver${ext}`, import.meta.url).href;
      const code = `const { RuncDriver } = await import(process.argv[1]);
        const s = await new RuncDriver(JSON.parse(process.argv[2])).ensure(JSON.parse(process.argv[3]));
        console.log(JSON.stringify(s));`;
      const child = spawn(
        process.execPath,
        [
          ...(ext === ".ts" ? ["--import", "tsx"] : []),
          "--input-type=module",
          "-e",
          code,
          mod,
          JSON.stringify(opts),
          JSON.stringify(spec("adoptee")),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      const exitCode = await new Promise<number | null>((r) => child.on("close", r));
      assert.equal(exitCode, 0);
      const started = JSON.parse(out) as InstanceRuntimeStatus;
      assert.ok(started.pid && (await pidAlive(started.pid)), "container outlived the agent process");

      const fresh = new RuncDriver(opts);
      const seen = (await fresh.list()).find((s) => s.id === "adoptee");
      assert.deepEqual([seen?.state, seen?.pid, seen?.detail], ["running", started.pid, "adopted"]);
      const ensured = await fresh.ensure(spec("adoptee"));
      assert.equal(ensured.pid, started.pid, "ensure adopts instead of restarting");
      // Everything running was started by another process, so every running container is adopted.
      const running = (await fresh.list()).filter((s) => s.state === "running").length;
      assert.equal((fresh.snapshot().counters as { adoptions: number }).adoptions, running);
    });

    it("reports a dead container as exited and restarts it only when the policy says so", async () => {
      const s = await driver.ensure(spec("oneshot", { command: ["sh", "-c", "echo ran-once"], restartPolicy: "Never" }));
      const exited = await waitFor(async () => (await driver.list()).find((x) => x.id === "oneshot" && x.state === "exited"), 5000);
      assert.ok(exited, "exit detected");
      assert.equal((await driver.ensure(spec("oneshot", { restartPolicy: "Never" }))).state, "exited");
      const restarted = await driver.ensure(
        spec("oneshot", { command: ["sh", "-c", "echo ran-once; exec sleep 1000"], restartPolicy: "Always" }),
      );
      assert.deepEqual([restarted.state, restarted.restartCount], ["running", 1]);
      assert.notEqual(restarted.startedAt, s.startedAt);
      assert.ok(await waitFor(async () => (await driver.logs("oneshot")).split("ran-once").length === 3, 3000), "both runs logged");
    });

    it("flags an OOM kill from the memory cgroup", async () => {
      await driver.ensure(spec("hog", { memoryMiB: 16, command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"] }));
      const dead = await waitFor(async () => (await driver.list()).find((x) => x.id === "hog" && x.state === "exited"), 5000);
      assert.equal(dead?.detail, "oom-killed");
    });

    it("stop ends the process and ensure starts it again", async () => {
      const pid = (await driver.list()).find((s) => s.id === "web")?.pid;
      assert.ok(pid);
      await driver.stop("web");
      assert.equal(await pidAlive(pid), false);
      assert.equal((await driver.list()).find((s) => s.id === "web")?.state, "stopped");
      const again = await driver.ensure(spec("web"));
      assert.equal(again.state, "running");
      assert.notEqual(again.pid, pid);
      assert.equal(again.restartCount, 0, "a requested stop is not a restart");
    });

    it("remove leaves no runc state, cgroup, mount or files", async () => {
      const pid = (await driver.list()).find((s) => s.id === "web")?.pid;
      await driver.remove("web");
      assert.ok(pid && !(await pidAlive(pid)));
      assert.equal(
        (await driver.cli.list()).some((c) => c.id === "web"),
        false,
      );
      for (const c of CONTROLLERS) {
        const entries = await readdir(`/sys/fs/cgroup/${c}/${cgroupParent}`).catch(() => [] as string[]);
        assert.equal(entries.includes("web"), false, `cgroup ${c}`);
      }
      assert.equal(await isMountPoint(join(opts.stateDir, "containers", "web", "rootfs")), false);
      await assert.rejects(stat(driver.dir("web")));
      assert.equal(
        (await driver.list()).some((s) => s.id === "web"),
        false,
      );
    });
  });
}
