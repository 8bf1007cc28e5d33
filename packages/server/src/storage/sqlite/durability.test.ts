import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, test } from "node:test";
import { SqliteBackend } from "./sqlite-backend.js";

const dir = mkdtempSync(join(tmpdir(), "kumo-durability-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// Run the writer the same way this file runs: compiled .js, or .ts through tsx during development.
const ext = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const writer = fileURLToPath(new URL(`./durability-writer${ext}`, import.meta.url));
const loader = ext === ".ts" ? ["--import", "tsx"] : [];

test("sqlite: every acknowledged write survives SIGKILL of the writer (32 in flight)", { timeout: 60_000 }, async (t) => {
  const db = join(dir, "durable.db");
  const child = spawn(process.execPath, [...loader, writer, db], { stdio: ["ignore", "pipe", "pipe"] });
  const closed = once(child, "close"); // exit + all of stdout read
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
  });
  let out = "";
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d));
  const firstAck = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d;
      resolve();
    });
    child.on("exit", () => reject(new Error(`writer exited before writing: ${err}`)));
  });
  await firstAck; // start the clock once the writer is up, so a slow start cannot shrink the sample
  await new Promise((r) => setTimeout(r, 1000));
  process.kill(child.pid!, "SIGKILL");
  await closed;
  assert.equal(child.signalCode, "SIGKILL", `writer died on its own: ${err}`);

  const lines = out.split("\n");
  lines.pop(); // a line cut by the kill was not (fully) acknowledged
  const acked = lines.filter((l) => l.length > 0);
  assert.ok(acked.length >= 200, `only ${acked.length} acknowledged writes in 1 s`);

  const reopened = new SqliteBackend(db);
  t.after(() => reopened.close());
  const missing = [];
  for (const key of acked) if (!(await reopened.get(key))) missing.push(key);
  assert.deepEqual(missing, [], `${missing.length} of ${acked.length} acknowledged keys lost`);
  const stats = await reopened.stats();
  assert.ok(stats.keys >= acked.length && stats.revision === stats.keys);
});
