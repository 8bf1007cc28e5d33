import { test } from "node:test";
import assert from "node:assert/strict";
import { retry } from "./retry.js";

test("retry backs off until the step succeeds, and gives up with the last error when the signal aborts", async () => {
  const warned: unknown[] = [];
  const log = { info() {}, warn: (f: object) => void warned.push(f), error() {} };
  let n = 0;
  const t0 = Date.now();
  const v = await retry(
    "step",
    async () => {
      if (++n < 3) throw new Error(`fail ${n}`);
      return "ok";
    },
    { signal: new AbortController().signal, log, baseDelayMs: 10 },
  );
  assert.equal(v, "ok");
  assert.ok(Date.now() - t0 >= 30, "10 + 20 ms of backoff");
  assert.deepEqual(
    warned.map((w) => (w as { retryInMs: number }).retryInMs),
    [10, 20],
  );
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 30);
  await assert.rejects(
    retry(
      "never",
      async () => {
        throw new Error("down");
      },
      { signal: ac.signal, log, baseDelayMs: 1000 },
    ),
    /down/,
  );
});
