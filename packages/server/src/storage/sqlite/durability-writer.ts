/**
 * Child process of durability.test.ts (not a test itself): writes to the sqlite db given as argv[2]
 * with 32 creates in flight, printing each key only after its create was acknowledged, until killed.
 */
import { SqliteBackend } from "./sqlite-backend.js";

const path = process.argv[2];
if (!path) throw new Error("usage: durability-writer <db path>");
const backend = new SqliteBackend(path);
let next = 0;

async function worker(): Promise<never> {
  for (;;) {
    const key = `/durable/${String(next++).padStart(8, "0")}`;
    const res = await backend.create(key, JSON.stringify({ key, pad: "x".repeat(200) }));
    if (!res.ok) throw new Error(`create ${key} refused`);
    // Pipes are written synchronously on Linux: once this returns the parent can read the line.
    process.stdout.write(`${key}\n`);
  }
}

await Promise.all(Array.from({ length: 32 }, worker));
