import { test } from "node:test";
import assert from "node:assert/strict";
import { KeyedLock } from "./keyed-lock.js";

test("sections of one key run one at a time in arrival order; other keys run alongside", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  const section = (key: string, id: string, ms: number) =>
    lock.run(key, async () => {
      log.push(`+${id}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`-${id}`);
      return id;
    });
  const results = await Promise.all([section("a", "a1", 20), section("a", "a2", 1), section("b", "b1", 5)]);
  assert.deepEqual(results, ["a1", "a2", "b1"]);
  assert.deepEqual(log, ["+a1", "+b1", "-b1", "-a1", "+a2", "-a2"]);
  assert.equal(lock.size, 0, "no key left held");
});

test("a section that throws releases the key", async () => {
  const lock = new KeyedLock();
  await assert.rejects(
    lock.run("k", async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.equal(await lock.run("k", async () => 1), 1);
  assert.equal(lock.isHeld("k"), false);
});
