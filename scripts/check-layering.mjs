#!/usr/bin/env node
// Layering rules from ARCHITECTURE.md: the API types and the client are isomorphic (browser + Node), so
// they may not import node: modules or the server/agent/cli packages. Exits 1 naming each violation.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const rules = [
  { dir: "packages/api/src", forbidden: [/^node:/, /^@kumo\/(server|agent|cli|client|web)/, /^(fs|path|os|child_process|net|http|https|crypto)$/] },
  { dir: "packages/client/src", forbidden: [/^node:/, /^@kumo\/(server|agent|cli|web)/, /^(fs|path|os|child_process|net|http|https|crypto)$/] },
];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) yield p;
  }
}

let bad = 0;
for (const { dir, forbidden } of rules) {
  for (const f of files(dir)) {
    const src = readFileSync(f, "utf8");
    for (const m of src.matchAll(/(?:import|export)[^'"]*from\s+["']([^"']+)["']|import\(["']([^"']+)["']\)/g)) {
      const spec = m[1] ?? m[2];
      if (forbidden.some((r) => r.test(spec))) {
        console.error(`${f}: imports "${spec}", which breaks the layering (this package must stay isomorphic)`);
        bad++;
      }
    }
  }
}
if (bad) process.exit(1);
console.log("layering ok");
