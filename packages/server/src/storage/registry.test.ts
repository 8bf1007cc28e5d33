import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import { openBackend } from "./registry.js";

const dir = mkdtempSync(join(tmpdir(), "kumo-registry-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("memory:// opens a memory backend that reports to the observer", async () => {
  const ops: string[] = [];
  const b = await openBackend("memory://", { observer: { observe: (op) => ops.push(op) } });
  try {
    assert.equal(b.kind, "memory");
    await b.create("/k", "v");
    assert.deepEqual(ops, ["create"]);
  } finally {
    await b.close();
  }
});

test("sqlite:///abs/path.db opens an absolute path and creates parent directories", async () => {
  const path = join(dir, "a", "b", "store.db");
  const b = await openBackend(`sqlite://${path}`);
  try {
    assert.equal(b.kind, "sqlite");
    await b.create("/k", "v");
    assert.ok(existsSync(path));
  } finally {
    await b.close();
  }
});

test("sqlite://relative/path.db is relative to the working directory", async () => {
  const rel = relative(process.cwd(), join(dir, "rel", "store.db"));
  assert.ok(!rel.startsWith("/"));
  const b = await openBackend(`sqlite://${rel}`);
  try {
    await b.create("/k", "v");
    assert.ok(existsSync(join(dir, "rel", "store.db")));
  } finally {
    await b.close();
  }
});

test("unknown schemes and malformed URLs are refused with the list of schemes", async () => {
  for (const url of ["etcd://127.0.0.1:2379", "postgres://x/y", "/just/a/path.db", "toString://x"]) {
    await assert.rejects(openBackend(url), (err: Error) => /known schemes are memory:\/\/, sqlite:\/\//.test(err.message));
  }
  await assert.rejects(openBackend("sqlite://"), /needs a file path/);
});
