import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError, alreadyExists, conflict, invalid, notFound, staleConflict, typedConflict } from "@kumo/api";
import { ConnectionError } from "@kumo/client";
import { formatError, ownershipConflict, UserError } from "./errors.js";

test("an unreachable server gets the one-line hint with the API origin", () => {
  const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" });
  assert.equal(
    formatError(new ConnectionError("https://127.0.0.1:6443/api/v1/namespaces", refused)),
    'cannot reach the kumo API at https://127.0.0.1:6443 (connection refused): is the server running? try "make up"',
  );
  const tls = Object.assign(new Error("self-signed certificate in certificate chain"), { code: "SELF_SIGNED_CERT_IN_CHAIN" });
  assert.match(
    formatError(new ConnectionError("https://h:1/x", tls)),
    /^cannot reach the kumo API at https:\/\/h:1 \(TLS: certificate signed by an unknown authority\): check/,
  );
});

test("server messages are printed verbatim; 422 lists field causes missing from the message", () => {
  assert.equal(formatError(notFound({ group: "infra.kumo.dev", resource: "hosts", name: "h9" })), 'hosts.infra.kumo.dev "h9" not found');
  const full = invalid({ kind: "Host", name: "h1" }, [{ field: "spec.cpu", message: "must be integer" }]);
  assert.equal(formatError(full), 'Host "h1" is invalid: spec.cpu: must be integer');
  const terse = new ApiError(422, "Invalid", 'Host "h1" is invalid', {
    causes: [{ field: "spec.cpu", message: "must be integer" }, { message: "too big" }],
  });
  assert.equal(formatError(terse), 'Host "h1" is invalid: spec.cpu: must be integer, too big');
  assert.match(
    formatError(new ApiError(401, "Unauthorized", "invalid bearer token")),
    /^invalid bearer token \(the server refused the token/,
  );
  assert.equal(formatError(new UserError("plain")), "plain");
});

test("only a field-ownership conflict gets the force hint, read from the Status cause that crossed the wire", () => {
  const t = { group: "infra.kumo.dev", resource: "hosts", name: "h1" };
  const wire = (e: ApiError) => ApiError.fromStatus(JSON.parse(JSON.stringify(e.toStatus())), e.code);
  const cause = { reason: "FieldManagerConflict", field: "metadata.labels.a", message: 'conflict with "agent"' };
  const owned = wire(conflict(t, "this write would remove fields owned by other field managers", [cause]));
  assert.equal(ownershipConflict(owned, "re-run with --force")?.message, `${owned.message} (re-run with --force)`);
  const others = [staleConflict(t), typedConflict(t, "UIDPrecondition", "Precondition failed"), alreadyExists(t)].map(wire);
  for (const other of [...others, new Error("x")]) {
    assert.equal(ownershipConflict(other, "re-run with --force"), undefined, String(other));
  }
});
