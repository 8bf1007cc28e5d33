/**
 * kubectl 1.32, unchanged, against a real kumo server (HTTPS, sqlite store): the "Done when" list of the
 * foundation issue, asserting on what kubectl prints, not only on exit codes.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { HOSTS, killChild, makeTempDir, removeDir, waitFor } from "./helpers.js";

const KUBECTL = "/usr/bin/kubectl";
const skip = existsSync(KUBECTL) ? false : `kubectl not found at ${KUBECTL}; install kubectl 1.32 to run these tests`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const HOST_YAML = `apiVersion: infra.kumo.dev/v1
kind: Host
metadata:
  name: e2e-h1
spec:
  capacity:
    cpu: 4000
    memoryMiB: 8192
`;

const BAD_YAML = `apiVersion: infra.kumo.dev/v1
kind: Host
metadata:
  name: e2e-h2
spec:
  colour: red
`;

describe("kubectl against kumo", { skip }, () => {
  let dir: string;
  let server: TestServer | undefined;
  let watcher: ChildProcess | undefined;

  const kubectl = (...args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const full = ["--kubeconfig", server!.kubeconfigPath, "--cache-dir", join(dir, "kube-cache"), ...args];
      execFile(KUBECTL, full, { timeout: 30_000, env: { ...process.env, HOME: dir } }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  const ok = (r: Run, what: string) => assert.equal(r.code, 0, `${what} failed: ${r.stderr}${r.stdout}`);
  const hostFile = () => join(dir, "host.yaml");
  const getHost = async (name: string) => {
    const r = await server!.call("GET", `${HOSTS}/${name}`);
    assert.equal(r.status, 200, r.text);
    return r.body;
  };

  before(async () => {
    dir = await makeTempDir("kubectl");
    server = await startTestServer({ dataDir: dir, datastore: `sqlite://${join(dir, "kumo.db")}` });
    await writeFile(hostFile(), HOST_YAML);
    await writeFile(join(dir, "bad.yaml"), BAD_YAML);
  });

  after(async () => {
    killChild(watcher);
    await server?.stop();
    await removeDir(dir);
  });

  it("get ns lists the system projects", async () => {
    const r = await kubectl("get", "ns");
    ok(r, "get ns");
    assert.match(r.stdout, /^NAME\s+STATUS\s+AGE/m);
    assert.match(r.stdout, /^default\s+Active\s+\d+s/m);
    assert.match(r.stdout, /^kumo-system\s+Active\s/m);
  });

  it("apply -f host.yaml creates the Host", async () => {
    const r = await kubectl("apply", "-f", hostFile());
    ok(r, "apply");
    assert.match(r.stdout, /^host\.infra\.kumo\.dev\/e2e-h1 created$/m);
    assert.equal((await getHost("e2e-h1")).spec.capacity.cpu, 4000);
  });

  it("get hosts -o yaml prints the object", async () => {
    const r = await kubectl("get", "hosts", "-o", "yaml");
    ok(r, "get -o yaml");
    assert.match(r.stdout, /^kind: List$/m);
    assert.match(r.stdout, /^- apiVersion: infra\.kumo\.dev\/v1$/m);
    assert.match(r.stdout, /^\s+kind: Host$/m);
    assert.match(r.stdout, /^\s+name: e2e-h1$/m);
    assert.match(r.stdout, /^\s+cpu: 4000$/m);
    assert.match(r.stdout, /^\s+memoryMiB: 8192$/m);
    assert.match(r.stdout, /^\s+resourceVersion: "\d+"$/m);
    assert.doesNotMatch(r.stdout, /managedFields/, "kubectl hides managedFields by default");
  });

  it("patch --type merge changes the spec", async () => {
    const r = await kubectl("patch", "host", "e2e-h1", "--type", "merge", "-p", '{"spec":{"capacity":{"cpu":8000}}}');
    ok(r, "patch");
    assert.match(r.stdout, /^host\.infra\.kumo\.dev\/e2e-h1 patched$/m);
    assert.equal((await getHost("e2e-h1")).spec.capacity.cpu, 8000);
  });

  it("annotate and label", async () => {
    const a = await kubectl("annotate", "host", "e2e-h1", "team=blue");
    ok(a, "annotate");
    assert.match(a.stdout, /^host\.infra\.kumo\.dev\/e2e-h1 annotated$/m);
    const l = await kubectl("label", "host", "e2e-h1", "tier=gold");
    ok(l, "label");
    assert.match(l.stdout, /^host\.infra\.kumo\.dev\/e2e-h1 labeled$/m);
    const h = await getHost("e2e-h1");
    assert.equal(h.metadata.annotations.team, "blue");
    assert.equal(h.metadata.labels.tier, "gold");
    const g = await kubectl("get", "hosts", "--show-labels");
    ok(g, "get --show-labels");
    assert.match(g.stdout, /^NAME\s+STATUS\s+UNDERLAY\s+CPU\s+MEMORY\s+AGE\s+LABELS$/m);
    assert.match(g.stdout, /^e2e-h1\s+\S+\s+\S+\s+8000\s+8192Mi\s+\S+\s+tier=gold$/m);
  });

  it("apply --server-side conflicts with kubectl-patch, then wins with --force-conflicts", async () => {
    const c = await kubectl("apply", "--server-side", "-f", hostFile());
    assert.equal(c.code, 1, `expected exit 1, got ${c.code}: ${c.stdout}${c.stderr}`);
    assert.match(c.stderr, /error: Apply failed with 1 conflict: conflict with "kubectl-patch": \.spec\.capacity\.cpu/);
    assert.match(c.stderr, /--force-conflicts/);
    assert.equal((await getHost("e2e-h1")).spec.capacity.cpu, 8000, "a refused apply changes nothing");
    const f = await kubectl("apply", "--server-side", "--force-conflicts", "-f", hostFile());
    ok(f, "apply --server-side --force-conflicts");
    assert.match(f.stdout, /^host\.infra\.kumo\.dev\/e2e-h1 serverside-applied$/m);
    const h = await getHost("e2e-h1");
    assert.equal(h.spec.capacity.cpu, 4000);
    const owners = (h.metadata.managedFields as { manager: string; operation: string }[]).map((m) => `${m.manager}/${m.operation}`);
    assert.ok(owners.includes("kubectl/Apply"), `managedFields: ${owners.join(", ")}`);
  });

  it("get hosts --watch sees a change made by another client", async () => {
    let out = "";
    watcher = spawn(KUBECTL, ["--kubeconfig", server!.kubeconfigPath, "--cache-dir", join(dir, "kube-cache"), "get", "hosts", "--watch"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, HOME: dir },
    });
    watcher.stdout!.on("data", (c: Buffer) => (out += c.toString()));
    watcher.stderr!.on("data", (c: Buffer) => (out += c.toString()));
    try {
      await waitFor("the initial row of kubectl get --watch", () => /^e2e-h1\s+\S+\s+\S+\s+4000\s/m.test(out), 15_000);
      const r = await server!.call("PATCH", `${HOSTS}/e2e-h1?fieldManager=other-client`, {
        body: { spec: { capacity: { cpu: 12000 } } },
        contentType: "application/merge-patch+json",
      });
      assert.equal(r.status, 200, r.text);
      await waitFor(
        "the watched change (cpu 12000) in kubectl's output",
        () => /^e2e-h1\s+\S+\s+\S+\s+12000\s+8192Mi\s/m.test(out),
        10_000,
      );
      assert.equal(watcher.exitCode, null, `kubectl get --watch exited early: ${out}`);
      assert.equal(out.match(/^NAME\s/gm)?.length, 1, `one header, rows stay Tables: ${out}`);
    } finally {
      killChild(watcher, "SIGTERM");
    }
  });

  it("a removal of another manager's annotation is refused; forced, it is listed by get events", async () => {
    const p = await kubectl("patch", "host", "e2e-h1", "--type", "merge", "-p", '{"metadata":{"annotations":{"team":null}}}');
    assert.equal(p.code, 1, p.stdout + p.stderr);
    assert.match(
      p.stderr,
      new RegExp(
        String.raw`Error from server \(Conflict\): Operation cannot be fulfilled on hosts\.infra\.kumo\.dev "e2e-h1": ` +
          String.raw`.*metadata\.annotations\.team owned by "kubectl-annotate"`,
      ),
    );
    assert.equal((await getHost("e2e-h1")).metadata.annotations.team, "blue");
    const forced = await server!.call("PATCH", `${HOSTS}/e2e-h1?fieldManager=e2e-janitor&force=true`, {
      body: { metadata: { annotations: { team: null } } },
      contentType: "application/merge-patch+json",
    });
    assert.equal(forced.status, 200, forced.text);
    const events = await waitFor(
      "the FieldsOverridden event in kubectl get events",
      async () => {
        const r = await kubectl("get", "events");
        return r.code === 0 && /FieldsOverridden/.test(r.stdout) ? r.stdout : undefined;
      },
      10_000,
      200,
    );
    assert.match(
      events,
      new RegExp(
        String.raw`Warning\s+FieldsOverridden\s+host\/e2e-h1\s+e2e-janitor \(user admin\) ` +
          String.raw`removed fields owned by kubectl-annotate with force=true: metadata\.annotations\.team`,
      ),
    );
  });

  it("explain hosts.spec uses the served OpenAPI schema", async () => {
    const r = await kubectl("explain", "hosts.spec");
    ok(r, "explain");
    assert.match(r.stdout, /^GROUP:\s+infra\.kumo\.dev$/m);
    assert.match(r.stdout, /^KIND:\s+Host$/m);
    assert.match(r.stdout, /^VERSION:\s+v1$/m);
    assert.match(r.stdout, /^FIELD: spec <Object>$/m);
    for (const f of ["capacity\t<Object>", "underlayIP\t<string>", "unschedulable\t<boolean>"])
      assert.ok(r.stdout.includes(f), `explain lists ${f}: ${r.stdout}`);
  });

  it("errors read as Kubernetes errors", async () => {
    const nf = await kubectl("get", "host", "nope");
    assert.equal(nf.code, 1);
    assert.match(nf.stderr, /^Error from server \(NotFound\): hosts\.infra\.kumo\.dev "nope" not found$/m);

    const inv = await kubectl("patch", "host", "e2e-h1", "--type", "merge", "-p", '{"spec":{"capacity":{"cpu":"lots"}}}');
    assert.equal(inv.code, 1);
    assert.match(inv.stderr, /^The Host "e2e-h1" is invalid: spec\.capacity\.cpu: Invalid value: "lots": .*integer/m);

    const unk = await kubectl("apply", "--validate=strict", "-f", join(dir, "bad.yaml"));
    assert.equal(unk.code, 1, unk.stdout + unk.stderr);
    assert.match(unk.stderr, /unknown field "spec\.colour"/);
    assert.equal((await server!.call("GET", `${HOSTS}/e2e-h2`)).status, 404, "a refused create stores nothing");

    const smp = await kubectl("patch", "host", "e2e-h1", "-p", '{"spec":{"unschedulable":true}}');
    assert.equal(smp.code, 1);
    assert.match(
      smp.stderr,
      /application\/strategic-merge-patch\+json is not supported by infra\.kumo\.dev\/v1, Kind=Host: .*use --type merge or --type json/,
    );
  });

  it("delete removes the Host", async () => {
    const r = await kubectl("delete", "host", "e2e-h1");
    ok(r, "delete");
    assert.match(r.stdout, /^host\.infra\.kumo\.dev "e2e-h1" deleted$/m);
    assert.equal((await server!.call("GET", `${HOSTS}/e2e-h1`)).status, 404);
    const g = await kubectl("get", "hosts");
    ok(g, "get hosts");
    assert.match(g.stderr, /No resources found/);
  });
});
