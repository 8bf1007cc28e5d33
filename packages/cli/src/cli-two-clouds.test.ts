/** Two clouds side by side: different KUMO_HOME, KUMO_CONFIG and --listen, each seeing only its own objects. */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, runKumo } from "./testing.js";

const root = mkdtempSync(join(tmpdir(), "kumo-two-clouds-"));
const cloud = (n: number) => ({ KUMO_HOME: join(root, `home${n}`), KUMO_CONFIG: join(root, `cfg${n}`, "config") });

after(async () => {
  const downs = await Promise.all([1, 2].map((n) => runKumo(["down", "--purge"], { env: cloud(n) })));
  rmSync(root, { recursive: true, force: true });
  for (const d of downs) assert.equal(d.code, 0, d.stderr);
});

test("two clouds run side by side and do not see each other", async () => {
  const ports = [await freePort(), await freePort()];
  const ups = await Promise.all(
    [1, 2].map((n) => runKumo(["up", "--listen", `127.0.0.1:${ports[n - 1]}`, "--hosts", "0"], { env: cloud(n) })),
  );
  for (const u of ups) assert.equal(u.code, 0, u.stderr);
  const ns = JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "only-in-one" } });
  assert.equal((await runKumo(["create", "-f", "-"], { env: cloud(1), input: ns })).stdout, "namespace/only-in-one created\n");
  assert.match((await runKumo(["get", "ns"], { env: cloud(1) })).stdout, /\nonly-in-one +Active/);
  assert.doesNotMatch((await runKumo(["get", "ns"], { env: cloud(2) })).stdout, /only-in-one/);
  const down1 = await runKumo(["down"], { env: cloud(1) });
  assert.match(down1.stdout, /kumo stopped/);
  assert.match((await runKumo(["get", "ns"], { env: cloud(2) })).stdout, /\ndefault +Active/, "stopping one leaves the other running");
});
