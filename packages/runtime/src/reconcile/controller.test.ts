import { test } from "node:test";
import assert from "node:assert/strict";
import { Registry } from "prom-client";
import { Controller } from "./controller.js";
import { ManualSource, periodicSource } from "./sources.js";
import { TerminalError, type Logger } from "./types.js";

/** A logger that keeps lines, to assert what the runtime logs. */
function memLog() {
  const lines: { level: string; fields: Record<string, unknown>; msg: string }[] = [];
  const at = (level: string) => (fields: object, msg: string) => void lines.push({ level, fields: fields as Record<string, unknown>, msg });
  const log: Logger = { info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
};

test("a key is reconciled, errors back off and then succeed, terminal errors are not retried", async () => {
  const { log, lines } = memLog();
  const calls: string[] = [];
  let flaky = 2;
  const c = new Controller({
    name: "t",
    log,
    baseDelayMs: 5,
    workers: 2,
    reconciler: async (ctx, key) => {
      calls.push(`${key}#${ctx.attempt}`);
      if (key === "flaky" && flaky-- > 0) throw new Error("not yet");
      if (key === "bad") throw new TerminalError("spec.x is invalid");
    },
  });
  const reg = new Registry();
  c.register(reg);
  const fresh = await reg.metrics();
  assert.match(fresh, /kumo_controller_reconcile_total\{controller="t",result="terminal"\} 0/, "every result's series exists at once");
  assert.match(fresh, /kumo_controller_reconcile_duration_seconds_count\{controller="t"\} 0/);
  await c.start(new AbortController().signal);
  c.add("ok");
  c.add("flaky");
  c.add("bad");
  await until(() => c.outcomes().success === 2 && c.outcomes().terminal === 1);
  await new Promise((r) => setTimeout(r, 50)); // a terminal key must not come back
  assert.deepEqual(
    calls.filter((k) => k.startsWith("flaky")),
    ["flaky#0", "flaky#1", "flaky#2"],
  );
  assert.deepEqual(
    calls.filter((k) => k.startsWith("bad")),
    ["bad#0"],
  );
  assert.equal(c.outcomes().error, 2);
  const snap = c.snapshot();
  assert.equal(snap.failing.bad?.terminal, true);
  assert.equal(snap.failing.bad?.message, "spec.x is invalid");
  assert.equal(snap.failing.flaky, undefined, "a key that succeeded is no longer failing");
  assert.ok(lines.some((l) => l.level === "warn" && l.fields.key === "flaky" && l.fields.controller === "t"));
  const text = await reg.metrics();
  assert.match(text, /kumo_controller_reconcile_total\{controller="t",result="error"\} 2/);
  assert.match(text, /kumo_controller_reconcile_total\{controller="t",result="terminal"\} 1/);
  assert.match(text, /kumo_controller_queue_depth\{controller="t"\} 0/);
  assert.match(text, /kumo_controller_reconcile_duration_seconds_count\{controller="t"\} 5/);
  await c.stop();
  assert.doesNotMatch(await reg.metrics(), /queue_depth\{controller="t"\}/, "a stopped loop leaves the gauges");
});

test("a synchronous throw and a non-Error rejection are caught and retried, never unhandled", async () => {
  const { log } = memLog();
  let n = 0;
  const c = new Controller({
    name: "sync-throw",
    log,
    baseDelayMs: 1,
    reconciler: {
      reconcile: (_ctx: unknown, _key: string) => {
        n++;
        if (n === 1) throw new Error("sync boom");
        if (n === 2) return Promise.reject("a string");
        return Promise.resolve();
      },
    },
  });
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  try {
    await c.start(new AbortController().signal);
    c.add("k");
    await until(() => c.outcomes().success === 1);
    assert.equal(c.outcomes().error, 2);
    assert.deepEqual(unhandled, []);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    await c.stop();
  }
});

test("requeueAfter queues the key again after the delay; one key never runs on two workers at once", async () => {
  const { log } = memLog();
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const c = new Controller({
    name: "rq",
    log,
    workers: 4,
    reconciler: async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      runs++;
      return runs < 3 ? { requeueAfterMs: 20 } : undefined;
    },
  });
  await c.start(new AbortController().signal);
  const t0 = Date.now();
  for (let i = 0; i < 10; i++) c.add("same");
  await until(() => runs >= 3);
  assert.ok(Date.now() - t0 >= 40, "two requeues of 20 ms each");
  assert.equal(maxRunning, 1);
  assert.equal(c.outcomes().requeue, 2);
  await c.stop();
});

test("sources deliver before workers start; stop waits for the running reconcile and ends timers", async () => {
  const { log } = memLog();
  const manual = new ManualSource("manual");
  manual.push("early");
  const seen: string[] = [];
  let release!: () => void;
  let sourceWork = "none";
  const lingering = {
    name: "lingering",
    start: async (signal: AbortSignal) => {
      // Work a source keeps running until its signal aborts, then winds down (a relist in flight).
      signal.addEventListener("abort", () => (sourceWork = "winding down"));
    },
    stop: async () => {
      await new Promise((r) => setTimeout(r, 20));
      sourceWork = "ended";
    },
  };
  const c = new Controller({
    name: "src",
    log,
    sources: [manual, periodicSource("sweep", 20, "sweep"), lingering],
    reconciler: async (_ctx, key) => {
      seen.push(key);
      if (key === "slow") await new Promise<void>((r) => (release = r));
    },
  });
  await c.start(new AbortController().signal);
  await until(() => seen.includes("early") && seen.filter((k) => k === "sweep").length >= 2);
  manual.push("slow");
  await until(() => seen.includes("slow"));
  let stopped = false;
  const stopping = c.stop().then(() => (stopped = true));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(stopped, false, "stop waits for the reconcile in flight");
  release();
  await stopping;
  assert.equal(sourceWork, "ended", "stop waits for a source's own work");
  const sweeps = seen.filter((k) => k === "sweep").length;
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(seen.filter((k) => k === "sweep").length, sweeps, "no sweep after stop");
  assert.equal(c.snapshot().sources.sweep && typeof c.snapshot().sources.sweep, "object");
});

test("aborting the start signal stops the workers", async () => {
  const { log } = memLog();
  const ac = new AbortController();
  const seen: string[] = [];
  const c = new Controller({ name: "abort", log, reconciler: async (_ctx, k) => void seen.push(k) });
  await c.start(ac.signal);
  c.add("a");
  await until(() => seen.length === 1);
  ac.abort();
  await c.stop();
  c.add("b");
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ["a"]);
});

test("the oldest-item age shows a stuck loop", async () => {
  const { log } = memLog();
  let release!: () => void;
  const c = new Controller({ name: "stuck", log, reconciler: async () => new Promise<void>((r) => (release = r)) });
  await c.start(new AbortController().signal);
  c.add("a");
  await until(() => c.busyWorkers() === 1);
  c.add("b");
  await new Promise((r) => setTimeout(r, 60));
  assert.ok(c.oldestAgeSeconds() >= 0.05, `age ${c.oldestAgeSeconds()}`);
  assert.ok("a" in c.snapshot().inFlight);
  release();
  await until(() => c.busyWorkers() === 1 && !("a" in c.snapshot().inFlight));
  release();
  await c.whenIdle();
  assert.equal(c.oldestAgeSeconds(), 0);
  await c.stop();
});

test("backoffHoldsEvents: adds during a key's error backoff wait for it; other keys and a success are not held", async () => {
  const { log } = memLog();
  const runs: string[] = [];
  let failing = true;
  const c = new Controller({
    name: "hold",
    log,
    baseDelayMs: 150,
    backoffHoldsEvents: true,
    reconciler: async (_ctx, key) => {
      runs.push(key);
      if (key === "bad" && failing) throw new Error("not yet");
    },
  });
  await c.start(new AbortController().signal);
  c.add("bad");
  await until(() => c.outcomes().error === 1);
  const failedAt = Date.now();
  for (let i = 0; i < 5; i++) {
    c.add("bad"); // an event (say, the loop's own status write) must not retry early
    c.addAfter("bad", 10);
    c.add(`ok${i}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  await until(() => runs.filter((k) => k.startsWith("ok")).length === 5);
  assert.equal(runs.filter((k) => k === "bad").length, 1, "held while backing off");
  failing = false;
  await until(() => runs.filter((k) => k === "bad").length === 2);
  assert.ok(Date.now() - failedAt >= 140, "ran when the backoff ended");
  c.add("bad");
  await until(() => runs.filter((k) => k === "bad").length === 3); // after a success adds run at once again
  await c.stop();
});

test("informer-less sources: periodicSource calls onTick before each queueing", async () => {
  const { log } = memLog();
  let ticks = 0;
  const seen: number[] = [];
  const c = new Controller({
    name: "tick",
    log,
    sources: [periodicSource("resync", 20, "k", { onTick: () => ticks++ })],
    reconciler: async () => void seen.push(ticks),
  });
  await c.start(new AbortController().signal);
  await until(() => seen.length >= 2);
  assert.ok(seen[0] >= 1, "the tick ran before the first reconcile");
  await c.stop();
});

test("requeue: true waits with the key's growing backoff and is neither an error nor a forgotten failure count", async () => {
  const { log, lines } = memLog();
  const at: number[] = [];
  const attempts: number[] = [];
  const c = new Controller({
    name: "backoff",
    log,
    baseDelayMs: 20,
    reconciler: async (ctx) => {
      at.push(Date.now());
      attempts.push(ctx.attempt);
      return at.length < 4 ? { requeue: true } : undefined;
    },
  });
  await c.start(new AbortController().signal);
  c.add("k");
  await until(() => c.outcomes().success === 1);
  const gaps = at.slice(1).map((t, i) => t - at[i]);
  assert.deepEqual(attempts, [0, 1, 2, 3], "the failure count grows across requeues");
  assert.ok(gaps[0] >= 18 && gaps[1] >= 38 && gaps[2] >= 78, `gaps double: ${gaps}`);
  assert.equal(c.outcomes().requeue, 3);
  assert.equal(c.outcomes().error, 0);
  assert.equal(lines.filter((l) => l.level !== "info").length, 0, "a requeue is not logged as a failure");
  assert.equal(c.queue.numRequeues("k"), 0, "success forgets the count");
  await c.stop();
});
