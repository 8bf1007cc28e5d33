import { test } from "node:test";
import assert from "node:assert/strict";
import { checkLabelName, checkLabelValue, checkObjectName, checkQualifiedKey } from "./names.js";

test("object names are DNS-1123 subdomains: lowercase, dots allowed, at most 253 characters", () => {
  for (const ok of ["a", "web-1", "a.b.c", "0abc", "x".repeat(253)]) assert.equal(checkObjectName(ok), undefined, ok);
  for (const bad of ["", "Web", "-a", "a-", "a..b", "a_b", "a/b", ".a"])
    assert.match(checkObjectName(bad) ?? "", /^a lowercase RFC 1123 subdomain/, bad);
  assert.equal(checkObjectName("x".repeat(254)), "must be no more than 253 characters");
});

test("namespace names are DNS-1123 labels: no dots, at most 63 characters", () => {
  assert.equal(checkLabelName("team-a"), undefined);
  assert.equal(checkLabelName("x".repeat(63)), undefined);
  assert.equal(checkLabelName("x".repeat(64)), "must be no more than 63 characters");
  assert.match(checkLabelName("a.b") ?? "", /^a lowercase RFC 1123 label/);
  assert.match(checkLabelName("A") ?? "", /^a lowercase RFC 1123 label/);
});

test("label and annotation keys: an optional DNS prefix, then a name of at most 63 characters", () => {
  for (const ok of ["app", "App_1.x", "network.kumo.dev/vtep-ip", "a/b", "x".repeat(63)])
    assert.equal(checkQualifiedKey(ok), undefined, ok);
  assert.equal(checkQualifiedKey("/name"), "prefix part must be a lowercase RFC 1123 subdomain");
  assert.equal(checkQualifiedKey("Bad.Prefix/name"), "prefix part must be a lowercase RFC 1123 subdomain");
  for (const bad of ["", "prefix/", "-a", "a-", "a b", "x".repeat(64)])
    assert.match(checkQualifiedKey(bad) ?? "", /^name part must consist of/, bad);
});

test("label values may be empty; otherwise they follow the name rule", () => {
  assert.equal(checkLabelValue(""), undefined);
  assert.equal(checkLabelValue("v1.2_x-y"), undefined);
  for (const bad of ["-a", "a b", "x".repeat(64), "a/b"])
    assert.match(checkLabelValue(bad) ?? "", /^a valid label must be an empty string/, bad);
});
