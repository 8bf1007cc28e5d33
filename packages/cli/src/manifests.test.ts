import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseManifests, readManifests } from "./manifests.js";

const host = (n: string) => `apiVersion: infra.kumo.dev/v1\nkind: Host\nmetadata:\n  name: ${n}\n`;

test("multi-document YAML, with empty documents skipped", () => {
  const objs = parseManifests(`---\n${host("a")}---\n# only a comment\n---\n${host("b")}`, "x.yaml");
  assert.deepEqual(
    objs.map((o) => o.metadata.name),
    ["a", "b"],
  );
});

test("JSON objects, JSON arrays and List kinds are expanded", () => {
  const one = '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"p"}}';
  assert.equal(parseManifests(one, "x").length, 1);
  assert.equal(parseManifests(`[${one},${one}]`, "x").length, 2);
  const list = JSON.stringify({ apiVersion: "v1", kind: "List", items: [JSON.parse(one), JSON.parse(one)] });
  assert.equal(parseManifests(list, "x").length, 2);
});

test("broken input names the source", () => {
  assert.throws(() => parseManifests("a: [1,\n", "bad.yaml"), { message: /^error parsing bad.yaml: .* at line 2, column 1$/ });
  assert.throws(() => parseManifests('{"kind":', "bad.json"), /error parsing bad.json/);
  assert.throws(() => parseManifests("kind: Host\nmetadata: {name: a}\n", "x.yaml"), /x.yaml: apiVersion not set/);
  assert.throws(() => parseManifests("- 1\n- 2\n", "x.yaml"), /expected an object/);
});

test("files, directories and stdin (-)", () => {
  const dir = mkdtempSync(join(tmpdir(), "kumo-manifests-"));
  try {
    writeFileSync(join(dir, "1.yaml"), host("a"));
    writeFileSync(join(dir, "2.json"), JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: "p" } }));
    writeFileSync(join(dir, "notes.txt"), "ignored");
    const ms = readManifests([dir, "-"], () => host("from-stdin"));
    assert.deepEqual(
      ms.map((m) => `${m.source.replace(dir, "D")}:${m.obj.metadata.name}`),
      ["D/1.yaml:a", "D/2.json:p", "STDIN:from-stdin"],
    );
    assert.throws(() => readManifests([join(dir, "missing.yaml")]), /does not exist/);
    assert.throws(() => readManifests([]), /must specify -f/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
