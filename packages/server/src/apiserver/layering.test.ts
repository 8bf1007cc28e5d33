/** The HTTP layer depends on the registry, auth and observability, never on controllers (they register hooks with it). */
import { it } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Compiled to dist/apiserver/: read the sources, where `import type` still shows.
const SRC = join(dirname(fileURLToPath(import.meta.url)), "../../src/apiserver");

it("no file in apiserver/ imports from controllers/", async () => {
  const offenders: string[] = [];
  for (const f of await readdir(SRC, { recursive: true })) {
    if (!f.endsWith(".ts")) continue;
    const text = await readFile(join(SRC, f), "utf8");
    for (const m of text.matchAll(/from\s+["']([^"']+)["']/g)) if (/(^|\/)controllers\//.test(m[1])) offenders.push(`${f}: ${m[1]}`);
  }
  assert.deepEqual(offenders, []);
});
