/** `kumo down` signals only the server it started: checked with stand-in processes, no real server. */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidAlive } from "@kumo/runtime/proc";
import { runKumo } from "./testing.js";

const root = mkdtempSync(join(tmpdir(), "kumo-down-test-"));
const started: ChildProcess[] = [];

after(async () => {
  for (const c of started) if (c.pid && (await pidAlive(c.pid))) c.kill("SIGKILL");
  rmSync(root, { recursive: true, force: true });
});

/** A process whose argv looks like `node …/cli/dist/main.js server --data-dir HOME` and that ignores SIGTERM. */
function fakeServer(home: string): ChildProcess {
  const code = "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000);";
  const c = spawn(process.execPath, ["-e", code, "/fake/packages/cli/dist/main.js", "server", "--data-dir", home], { stdio: "ignore" });
  started.push(c);
  return c;
}

async function exited(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  await new Promise((r) => c.once("exit", r));
}

test("a server that ignores SIGTERM gets SIGKILL after the grace period; --purge removes the home", async () => {
  const home = join(root, "h1");
  mkdirSync(home);
  writeFileSync(join(home, "server.log"), "");
  const srv = fakeServer(home);
  await new Promise((r) => setTimeout(r, 200)); // let it install its SIGTERM handler
  writeFileSync(join(home, "server.pid"), `${srv.pid}\n`);
  const r = await runKumo(["down", "--purge", "--timeout", "1"], { env: { KUMO_HOME: home, KUMO_CONFIG: join(root, "cfg1") } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^kumo stopped \\(pid ${srv.pid}, SIGKILL after 1s\\)\\nremoved ${home}\\n$`));
  await exited(srv);
  assert.equal(srv.signalCode, "SIGKILL");
  assert.equal(existsSync(home), false);
});

test("a pid file pointing at some other process is not signalled (pid reuse), only removed", async () => {
  const home = join(root, "h2");
  mkdirSync(home);
  const other = spawn("sleep", ["30"], { stdio: "ignore" });
  started.push(other);
  writeFileSync(join(home, "server.pid"), `${other.pid}\n`);
  const r = await runKumo(["down"], { env: { KUMO_HOME: home, KUMO_CONFIG: join(root, "cfg2") } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /is not the kumo server of .*not signalling it/);
  assert.equal(await pidAlive(other.pid as number), true);
  assert.equal(existsSync(join(home, "server.pid")), false);
});

test("a server of another KUMO_HOME is not this cloud's", async () => {
  const home = join(root, "h3");
  mkdirSync(home);
  const srv = fakeServer(join(root, "someone-else"));
  writeFileSync(join(home, "server.pid"), `${srv.pid}\n`);
  const r = await runKumo(["down"], { env: { KUMO_HOME: home, KUMO_CONFIG: join(root, "cfg3") } });
  assert.match(r.stdout, /not signalling it/);
  assert.equal(await pidAlive(srv.pid as number), true);
});

test("--purge refuses a directory that does not look like a kumo home", async () => {
  const home = join(root, "precious");
  mkdirSync(home);
  writeFileSync(join(home, "thesis.tex"), "…");
  const r = await runKumo(["down", "--purge"], { env: { KUMO_HOME: home, KUMO_CONFIG: join(root, "cfg4") } });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /does not look like a kumo home.*not removing it\n$/);
  assert.equal(existsSync(join(home, "thesis.tex")), true);
});
