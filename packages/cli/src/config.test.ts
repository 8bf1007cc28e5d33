import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConnection } from "./config.js";

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: { server: "https://10.0.0.1:6443/", certificate-authority-data: ${Buffer.from("CA-ONE").toString("base64")} }
- name: two
  cluster: { server: "https://10.0.0.2:6443", insecure-skip-tls-verify: true }
users:
- { name: u1, user: { token: tok-one } }
- { name: u2, user: { tokenFile: tok2.txt } }
contexts:
- { name: c1, context: { cluster: one, user: u1, namespace: proj-a } }
- { name: c2, context: { cluster: two, user: u2 } }
current-context: c2
`;

test("the current context picks cluster, user and namespace; flags override", () => {
  const dir = mkdtempSync(join(tmpdir(), "kumo-config-"));
  try {
    const path = join(dir, "config");
    writeFileSync(path, kubeconfig);
    writeFileSync(join(dir, "tok2.txt"), "tok-two\n");
    const c2 = loadConnection({}, { KUMO_CONFIG: path });
    assert.deepEqual(c2, {
      server: "https://10.0.0.2:6443",
      token: "tok-two",
      caPem: undefined,
      insecure: true,
      namespace: undefined,
      configPath: path,
    });
    writeFileSync(path, kubeconfig.replace("current-context: c2", "current-context: c1"));
    const c1 = loadConnection({}, { KUMO_CONFIG: path });
    assert.equal(c1.server, "https://10.0.0.1:6443");
    assert.equal(c1.caPem, "CA-ONE");
    assert.equal(c1.namespace, "proj-a");
    const o = loadConnection({ kubeconfig: path, server: "https://x:1", token: "flag", namespace: "proj-b" }, {});
    assert.deepEqual([o.server, o.token, o.namespace, o.caPem], ["https://x:1", "flag", "proj-b", "CA-ONE"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a missing config says how to get one; --server alone is enough", () => {
  assert.throws(
    () => loadConnection({}, { KUMO_CONFIG: "/nonexistent/kumo/config" }),
    /no kumo config at \/nonexistent\/kumo\/config: run "kumo up"/,
  );
  const c = loadConnection({ server: "https://h:6443", token: "t" }, { KUMO_CONFIG: "/nonexistent/kumo/config" });
  assert.equal(c.server, "https://h:6443");
});
