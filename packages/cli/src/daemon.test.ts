import { test } from "node:test";
import assert from "node:assert/strict";
import { cloudPaths, isKumoServerArgv, lastFailure, serverOfKubeconfig } from "./daemon.js";

test("only this cloud's `kumo server` process matches (a recycled pid never does)", () => {
  const argv = ["/usr/bin/node", "/repo/packages/cli/dist/main.js", "server", "--data-dir", "/var/lib/kumo", "--listen", "127.0.0.1:6443"];
  assert.equal(isKumoServerArgv(argv, "/var/lib/kumo"), true);
  assert.equal(isKumoServerArgv(argv, "/tmp/other-home"), false);
  assert.equal(isKumoServerArgv(["/usr/bin/node", "/repo/packages/cli/dist/main.js", "get", "hosts"], "/var/lib/kumo"), false);
  assert.equal(isKumoServerArgv(["sleep", "1000"], "/var/lib/kumo"), false);
  assert.equal(isKumoServerArgv(undefined, "/var/lib/kumo"), false);
});

test("paths come from KUMO_HOME and KUMO_CONFIG", () => {
  const p = cloudPaths({ KUMO_HOME: "/tmp/k1", KUMO_CONFIG: "/tmp/c1/config" });
  assert.deepEqual(p, {
    home: "/tmp/k1",
    pidFile: "/tmp/k1/server.pid",
    logFile: "/tmp/k1/server.log",
    adminKubeconfig: "/tmp/k1/admin.kubeconfig",
    userConfig: "/tmp/c1/config",
  });
  assert.equal(cloudPaths({}).home, "/var/lib/kumo");
});

test("the server address and CA are read from the written kubeconfig; failures from the log", () => {
  const kc = `clusters:\n  - name: kumo\n    cluster:\n      server: https://127.0.0.1:7443\n      certificate-authority-data: ${Buffer.from("PEM").toString("base64")}\n`;
  assert.deepEqual(serverOfKubeconfig(kc), { server: "https://127.0.0.1:7443", caPem: "PEM" });
  const log = [
    '{"level":30,"msg":"starting"}',
    '{"level":50,"msg":"cannot open store","err":{"message":"SQLITE_BUSY"}}',
    '{"level":30,"msg":"bye"}',
  ];
  assert.equal(lastFailure(log), "cannot open store: SQLITE_BUSY");
  assert.equal(
    lastFailure(["--- kumo up", "error: listen EADDRINUSE: address already in use 127.0.0.1:6443"]),
    "listen EADDRINUSE: address already in use 127.0.0.1:6443",
  );
  assert.equal(lastFailure(["fine"]), undefined);
});
