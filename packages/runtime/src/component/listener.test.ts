import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Registry } from "prom-client";
import { ComponentManager } from "./manager.js";
import { listenerComponent } from "./listener.js";

const quiet = { info() {}, warn() {}, error() {} };

test("a listener is started once bound; one whose port is taken fails the start and nothing stays bound", async () => {
  const first = createServer((_req, res) => res.end("ok"));
  const m = new ComponentManager(new Registry(), quiet);
  m.add(listenerComponent("http", first, "127.0.0.1", 0));
  await m.start();
  const port = (first.address() as { port: number }).port;
  assert.equal(await (await fetch(`http://127.0.0.1:${port}/`)).text(), "ok");
  const second = createServer();
  const m2 = new ComponentManager(new Registry(), quiet);
  const other = createServer();
  m2.add(listenerComponent("other", other, "127.0.0.1", 0));
  m2.add(listenerComponent("http", second, "127.0.0.1", port));
  await assert.rejects(m2.start(), /EADDRINUSE/);
  assert.equal(other.listening, false, "the listener started before the failing one was closed");
  assert.equal(second.listening, false);
  await m.stop();
  assert.equal(first.listening, false);
});
