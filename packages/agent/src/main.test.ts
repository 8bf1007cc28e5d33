// The agent process: a listener that cannot bind fails the start (exit 1) before anything else starts
// (no registration against the API, no loop), so a second agent for one host address cannot run beside the first.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("an agent whose metrics port is taken exits 1 at once and never calls the API", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kumo-agent-main-"));
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  // The API "server" is a port that counts connections: the agent must not get as far as registering.
  let apiCalls = 0;
  const api = createServer((s) => {
    apiCalls++;
    s.destroy();
  });
  await new Promise<void>((r) => api.listen(0, "127.0.0.1", () => r()));
  try {
    await writeFile(join(dir, "ca.pem"), "not a certificate\n");
    const port = (taken.address() as { port: number }).port;
    const main = fileURLToPath(new URL("./main.js", import.meta.url));
    const child = spawn(
      process.execPath,
      [
        main,
        "--server",
        `https://127.0.0.1:${(api.address() as { port: number }).port}`,
        "--ca-file",
        join(dir, "ca.pem"),
        "--token",
        "t",
        "--name",
        "hx",
        "--underlay-ip",
        "127.0.0.1",
        "--state-dir",
        join(dir, "state"),
        "--metrics-listen",
        `127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, KUMO_LOG_LEVEL: "info" } },
    );
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    clearTimeout(timer);
    assert.equal(code, 1, out);
    assert.match(out, /agent failed to start/);
    assert.match(out, /EADDRINUSE/);
    assert.equal(apiCalls, 0, "nothing after the listener was started");
  } finally {
    taken.close();
    api.close();
    await rm(dir, { recursive: true, force: true });
  }
});
