import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { Registry } from "prom-client";
import { component } from "./component.js";
import { ComponentManager } from "./manager.js";

const quiet = { info() {}, warn() {}, error() {} };

/** A component that binds a TCP port on loopback, as a real listener would. */
function listener(name: string, port: () => number, events: string[]) {
  let srv: Server | undefined;
  return component(name, {
    start: () =>
      new Promise<void>((res, rej) => {
        srv = createServer();
        srv.once("error", rej);
        srv.listen(port(), "127.0.0.1", () => {
          events.push(`start ${name}`);
          res();
        });
      }),
    stop: async () => {
      events.push(`stop ${name}`);
      await new Promise<void>((r) => (srv?.listening ? srv.close(() => r()) : r()));
    },
    snapshot: () => ({ listening: srv?.listening ?? false }),
  });
}

test("components start in order and stop in reverse; snapshot is keyed by name", async () => {
  const events: string[] = [];
  const m = new ComponentManager(new Registry(), quiet);
  let timerRuns = 0;
  m.add(component("store", { start: async () => void events.push("start store"), stop: async () => void events.push("stop store") }));
  m.add(listener("http", () => 0, events));
  m.add(
    component("ticker", {
      start: async (signal) => {
        const t = setInterval(() => timerRuns++, 5);
        signal.addEventListener("abort", () => clearInterval(t));
        events.push("start ticker");
      },
    }),
  );
  await m.start();
  assert.deepEqual(Object.keys(m.snapshot()), ["store", "http", "ticker"]);
  assert.deepEqual(m.snapshot().http, { listening: true });
  await m.stop();
  const after = timerRuns;
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(timerRuns, after, "the ticker's timer ended with its signal");
  assert.deepEqual(events, ["start store", "start http", "start ticker", "stop http", "stop store"]);
  assert.ok(m.lifecycle().every((c) => c.state === "stopped"));
});

test("a start that fails part-way (port in use) stops everything already started and rethrows", async () => {
  const events: string[] = [];
  const taken = createServer();
  await new Promise<void>((r) => taken.listen(0, "127.0.0.1", () => r()));
  const port = (taken.address() as { port: number }).port;
  try {
    const m = new ComponentManager(new Registry(), quiet);
    m.add(component("store", { start: async () => void events.push("start store"), stop: async () => void events.push("stop store") }));
    const first = m.add(listener("http", () => 0, events));
    m.add(listener("http-extra", () => port, events));
    m.add(component("never", { start: async () => void events.push("start never") }));
    await assert.rejects(m.start(), /EADDRINUSE/);
    assert.deepEqual(events, ["start store", "start http", "stop http-extra", "stop http", "stop store"]);
    assert.deepEqual(first.snapshot?.(), { listening: false });
    assert.deepEqual(
      m.lifecycle().map((c) => c.state),
      ["stopped", "stopped", "failed", "pending"],
    );
  } finally {
    taken.close();
  }
});

test("a component whose stop throws does not keep the others running", async () => {
  const events: string[] = [];
  const m = new ComponentManager(new Registry(), quiet);
  m.add(component("a", { start: async () => {}, stop: async () => void events.push("stop a") }));
  m.add(
    component("b", {
      start: async () => {},
      stop: async () => {
        throw new Error("stuck");
      },
    }),
  );
  await m.start();
  await m.stop();
  await m.stop(); // idempotent
  assert.deepEqual(events, ["stop a"]);
});
