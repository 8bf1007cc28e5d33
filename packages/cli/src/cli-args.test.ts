/** The CLI's own behaviour without a server: flags, help pointers, one-line errors, exit codes. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort, runKumo } from "./testing.js";

const noConfig = { KUMO_CONFIG: "/nonexistent/kumo-test/config" };

test("an unknown flag is one line naming the flag and the command's help", async () => {
  const r = await runKumo(["get", "hosts", "--foo"], { env: noConfig });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'error: unknown flag --foo (see "kumo get --help")\n');
  assert.equal(r.stdout, "");
});

test("unknown commands, missing arguments and bad values are one line each", async () => {
  const cmd = await runKumo(["frobnicate"], { env: noConfig });
  assert.equal(cmd.code, 1);
  assert.match(cmd.stderr, /^error: unknown command "frobnicate".* \(see "kumo --help"\)\n$/);
  const missing = await runKumo(["describe"], { env: noConfig });
  assert.equal(missing.stderr, `error: missing required argument 'kind' (see "kumo describe --help")\n`);
  const output = await runKumo(["get", "hosts", "-o", "xml", "--server", "https://127.0.0.1:1"], { env: noConfig });
  assert.match(output.stderr, /^error: unable to match a printer suitable for the output format "xml"/);
  assert.equal(output.stderr.split("\n").length, 2, "one line");
});

test("no config: the error says where it looked and what to run", async () => {
  const r = await runKumo(["get", "hosts"], { env: noConfig });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    'error: no kumo config at /nonexistent/kumo-test/config: run "kumo up" (or "make up"), or pass --kubeconfig, or set KUMO_CONFIG\n',
  );
});

test("an unreachable API gets the connection-refused hint, no stack trace", async () => {
  const port = await freePort();
  const r = await runKumo(["get", "hosts", "--server", `https://127.0.0.1:${port}`], { env: noConfig });
  assert.equal(r.code, 1);
  assert.equal(
    r.stderr,
    `error: cannot reach the kumo API at https://127.0.0.1:${port} (connection refused): is the server running? try "make up"\n`,
  );
});

test("help and version exit 0", async () => {
  const help = await runKumo(["get", "--help"], { env: noConfig });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: kumo get \[options\] <kind> \[names\.\.\.\]/);
  const v = await runKumo(["version", "--client"], { env: noConfig });
  assert.equal(v.code, 0);
  assert.match(v.stdout, /^Client Version: v\d+\.\d+\.\d+\n$/);
});
