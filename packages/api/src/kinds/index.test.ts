import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinKinds, defaultRegistry } from "./index.js";

test("every built-in kind resolves by plural, singular, kind and each short name, to itself", () => {
  const r = defaultRegistry();
  for (const k of builtinKinds) {
    for (const q of [k.plural, k.singular, k.kind, ...k.shortNames, `${k.plural}.${k.group}`]) {
      if (q === `${k.plural}.`) continue; // core kinds have no group suffix
      assert.equal(r.resolve(q), k, `${q} → ${k.kind}`);
    }
  }
});

test("the built-in kinds are served in discovery order under their groups", () => {
  assert.deepEqual(
    builtinKinds.map((k) => k.kind),
    [
      "Namespace",
      "Event",
      "Secret",
      "Host",
      "Network",
      "Subnet",
      "Port",
      "Image",
      "Flavor",
      "Instance",
      "User",
      "Token",
      "Role",
      "RoleBinding",
      "ClusterRoleBinding",
    ],
  );
  assert.deepEqual(
    [...defaultRegistry().groups()],
    [
      ["", ["v1"]],
      ["infra.kumo.dev", ["v1"]],
      ["network.kumo.dev", ["v1"]],
      ["compute.kumo.dev", ["v1"]],
      ["iam.kumo.dev", ["v1"]],
    ],
  );
});
