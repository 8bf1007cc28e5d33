/**
 * Driving a cloud the way a user does, for the end-to-end tests that run `bin/kumo up`: the CLI with a
 * test's own KUMO_HOME/KUMO_CONFIG, polling until a condition holds, and a free loopback port.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The checkout this test runs from. */
export const REPO = resolve(fileURLToPath(import.meta.url), "../../../..");
/** The CLI launcher. */
export const KUMO = join(REPO, "bin/kumo");

/** Result of one CLI run. */
export interface KumoRun {
  out: string;
  err: string;
  code: number;
}

/** Runs `kumo ARGS` with `env`; throws with stderr unless `allowFail`. */
export function runKumo(
  env: NodeJS.ProcessEnv,
  args: string[],
  o: { allowFail?: boolean; input?: string; timeoutMs?: number } = {},
): KumoRun {
  const r = spawnSync(KUMO, args, { env, encoding: "utf8", timeout: o.timeoutMs ?? 180_000, input: o.input });
  if (!o.allowFail && r.status !== 0) throw new Error(`kumo ${args.join(" ")} failed (${r.status}): ${r.stderr}${r.stdout}`);
  return { out: r.stdout, err: r.stderr, code: r.status ?? -1 };
}

/** `kumo ARGS -o json`, parsed. */
export function kumoJson(env: NodeJS.ProcessEnv, args: string[]): any {
  return JSON.parse(runKumo(env, [...args, "-o", "json"]).out);
}

/** Polls `fn` (sync or async) every 200 ms until it returns something truthy; throws naming `what` after `ms`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/**
 * `kumo down --purge` of a test's cloud, then checks it left nothing behind: no namespace named after
 * its hosts (`<prefix>-…`), no process or mount under its KUMO_HOME. Removes the home in any case.
 */
export async function tearDownUserCloud(env: NodeJS.ProcessEnv, home: string, prefix: string): Promise<void> {
  const down = runKumo(env, ["down", "--purge"], { allowFail: true, timeoutMs: 120_000 });
  const netns = execFileSync("ls", ["/run/netns"])
    .toString()
    .split("\n")
    .filter((n) => n.startsWith(`${prefix}-`));
  const procs = spawnSync("pgrep", ["-f", home], { encoding: "utf8" }).stdout.trim();
  const mounts = (await readFile("/proc/mounts", "utf8")).split("\n").filter((l) => l.includes(home));
  await rm(home, { recursive: true, force: true });
  assert.equal(down.code, 0, down.err);
  assert.deepEqual(netns, [], "no namespace left");
  assert.equal(procs, "", "no process left");
  assert.deepEqual(mounts, [], "no mount left");
}
