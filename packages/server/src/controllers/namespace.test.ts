/** A terminating namespace waits for objects that hold finalizers, says so in /debug/state, and goes once they do. */
import { it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer } from "../testing.js";
import { until } from "./compute/test-support.js";

it("waits without giving up for an object's own finalizer, showing what it waits for", async () => {
  const s = await startTestServer();
  try {
    await s.call("POST", "/api/v1/namespaces", { body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "held" } } });
    const stuck = { apiVersion: "v1", kind: "Secret", metadata: { name: "stuck", finalizers: ["example.com/hold"] } };
    await s.call("POST", "/api/v1/namespaces/held/secrets", { body: stuck });
    await s.call("POST", "/api/v1/namespaces/held/secrets", { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "free" } } });
    assert.equal((await s.call("DELETE", "/api/v1/namespaces/held")).status, 200);
    const waiting = await until("the namespace loop reports what it waits for", async () => {
      const st = (await s.call("GET", "/debug/state")).body.namespace.state.terminating.held;
      return st?.passes >= 2 && st;
    });
    assert.deepEqual(waiting.remaining, { secrets: 1 });
    assert.deepEqual(waiting.heldBy, ["Secret stuck (finalizers: example.com/hold)"]);
    assert.equal((await s.call("GET", "/api/v1/namespaces/held/secrets/free")).status, 404);
    assert.equal((await s.call("GET", "/api/v1/namespaces/held")).status, 200, "still there while something holds it");
    const release = { body: { metadata: { finalizers: [] } }, contentType: "application/merge-patch+json" };
    await s.call("PATCH", "/api/v1/namespaces/held/secrets/stuck", release);
    await until("namespace gone", async () => (await s.call("GET", "/api/v1/namespaces/held")).status === 404);
    const state = (await s.call("GET", "/debug/state")).body.namespace;
    assert.deepEqual(state.state.terminating, {});
    assert.equal(state.state.finalizedTotal, 1);
    assert.equal(state.reconciles.error, 0);
  } finally {
    await s.stop();
  }
});
