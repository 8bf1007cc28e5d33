import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ApiError,
  alreadyExists,
  badRequest,
  conflict,
  conflictCause,
  forbidden,
  gone,
  internalError,
  invalid,
  isConflict,
  isNotFound,
  methodNotAllowed,
  notFound,
  serviceUnavailable,
  staleConflict,
  tooLarge,
  typedConflict,
  unauthorized,
  unsupportedMediaType,
} from "./errors.js";

const host = { group: "infra.kumo.dev", kind: "Host", resource: "hosts", name: "h1" };

test('messages name the resource as kubectl does: plural.group "name"', () => {
  assert.equal(notFound(host).message, 'hosts.infra.kumo.dev "h1" not found');
  assert.equal(notFound({ kind: "Namespace", name: "p" }).message, 'namespace "p" not found');
  assert.equal(alreadyExists(host).message, 'hosts.infra.kumo.dev "h1" already exists');
  assert.equal(
    conflict(host, "the object has been modified").message,
    'Operation cannot be fulfilled on hosts.infra.kumo.dev "h1": the object has been modified',
  );
});

test("each constructor has its HTTP code and Status reason", () => {
  const cases: [ApiError, number, string][] = [
    [notFound(host), 404, "NotFound"],
    [alreadyExists(host), 409, "AlreadyExists"],
    [conflict(host, "x"), 409, "Conflict"],
    [invalid(host, []), 422, "Invalid"],
    [badRequest("b"), 400, "BadRequest"],
    [gone("g"), 410, "Expired"],
    [forbidden("f"), 403, "Forbidden"],
    [unauthorized(), 401, "Unauthorized"],
    [methodNotAllowed("m"), 405, "MethodNotAllowed"],
    [unsupportedMediaType("u"), 415, "UnsupportedMediaType"],
    [tooLarge("t"), 413, "RequestEntityTooLarge"],
    [serviceUnavailable("s"), 503, "ServiceUnavailable"],
    [internalError("i"), 500, "InternalError"],
  ];
  for (const [e, code, reason] of cases) assert.deepEqual([e.code, e.reason], [code, reason], e.message);
  assert.equal(unauthorized().message, "Unauthorized");
});

test("invalid lists every cause with its field in the message and keeps them in details", () => {
  const causes = [{ field: "spec.cpu", message: "must be integer" }, { message: "something without a field" }];
  const e = invalid(host, causes);
  assert.equal(e.message, 'Host "h1" is invalid: spec.cpu: must be integer, something without a field');
  assert.deepEqual(e.details, { name: "h1", group: "infra.kumo.dev", kind: "Host", causes });
});

test("toStatus and fromStatus round-trip code, reason, message and details", () => {
  const e = conflict(host, "stale", [{ field: "metadata.resourceVersion", message: "stale" }]);
  const s = e.toStatus();
  assert.deepEqual(s, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: e.message,
    reason: "Conflict",
    code: 409,
    details: { name: "h1", group: "infra.kumo.dev", kind: "hosts", causes: [{ field: "metadata.resourceVersion", message: "stale" }] },
  });
  const back = ApiError.fromStatus(JSON.parse(JSON.stringify(s)), 500);
  assert.deepEqual([back.code, back.reason, back.message, back.details], [409, "Conflict", e.message, s.details]);
  assert.equal("details" in gone("x").toStatus(), false);
});

test("fromStatus fills what a non-Status body lacks from the HTTP code", () => {
  const e = ApiError.fromStatus({}, 429);
  assert.deepEqual([e.code, e.reason, e.message], [429, "TooManyRequests", "HTTP 429"]);
  assert.equal(ApiError.fromStatus({}, 418).reason, "InternalError");
});

test("isConflict is only a stale-write 409, not AlreadyExists; isNotFound is any 404", () => {
  assert.equal(isConflict(conflict(host, "x")), true);
  assert.equal(isConflict(alreadyExists(host)), false);
  assert.equal(isConflict(new Error("409")), false);
  assert.equal(isNotFound(notFound(host)), true);
  assert.equal(isNotFound(new ApiError(404, "BadRequest", "odd")), true);
  assert.equal(isNotFound(gone("x")), false);
});

test("a conflict's typed cause survives the wire; other causes, codes and errors have none", () => {
  const wire = (e: ApiError) => ApiError.fromStatus(JSON.parse(JSON.stringify(e.toStatus())), e.code);
  const stale = wire(staleConflict(host));
  const why = "the object has been modified; please apply your changes to the latest version and try again";
  assert.equal(stale.message, `Operation cannot be fulfilled on hosts.infra.kumo.dev "h1": ${why}`);
  assert.deepEqual([conflictCause(stale), stale.details?.causes?.[0]?.field], ["StaleResourceVersion", "metadata.resourceVersion"]);
  assert.equal(conflictCause(wire(typedConflict(host, "UIDPrecondition", "Precondition failed"))), "UIDPrecondition");
  const causes = [
    { reason: "FieldValueInvalid", message: "x" },
    { reason: "FieldManagerConflict", field: "a", message: "y" },
  ];
  const owned = conflict(host, "owned", causes);
  assert.equal(conflictCause(wire(owned)), "FieldManagerConflict", "the first cause kumo knows");
  assert.equal(conflictCause(conflict(host, "untyped")), undefined);
  assert.equal(conflictCause(new ApiError(422, "Invalid", "x", { causes: [{ reason: "StaleResourceVersion", message: "x" }] })), undefined);
  assert.equal(conflictCause(new Error("409")), undefined);
});
