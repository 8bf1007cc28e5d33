import { test } from "node:test";
import assert from "node:assert/strict";
import { ApiError } from "@kumo/api";
import { href, parseRoute, type Route } from "./routes.js";
import { formErrors } from "./field-errors.js";

test("routes round-trip through href and parseRoute", () => {
  const routes: Route[] = [
    { view: "overview" },
    { view: "resources", kind: "networks.network.kumo.dev", ns: "demo", labels: "app=web,tier!=db" },
    { view: "resources" },
    { view: "detail", kind: "instances.compute.kumo.dev", namespace: "demo", name: "web-1" },
    { view: "detail", kind: "hosts.infra.kumo.dev", namespace: undefined, name: "h1" },
    { view: "hosts" },
    { view: "topology" },
    { view: "metrics" },
    { view: "actions" },
  ];
  for (const r of routes) {
    const expected = r.view === "resources" ? { ns: undefined, labels: undefined, kind: undefined, ...r } : r;
    assert.deepEqual(parseRoute(href(r)), expected, href(r));
  }
  assert.deepEqual(parseRoute(""), { view: "overview" });
  assert.deepEqual(parseRoute("#/nope"), { view: "notfound", path: "/nope" });
  assert.deepEqual(parseRoute("#/hosts/extra"), { view: "notfound", path: "/hosts/extra" });
});

test("422 causes land on the mapped inputs; unmapped ones and plain errors become form messages", () => {
  const e = new ApiError(422, "Invalid", 'Subnet "s" is invalid: spec.cidr: bad, spec.networks[0].network: missing, spec.other: x', {
    causes: [
      { field: "spec.cidr", message: '"10.0.0.0/33" is not an IPv4 CIDR like 10.0.0.0/24' },
      { field: "spec.networks[0].network", message: "network not found" },
      { field: "spec.other", message: "x" },
      { message: "no field at all" },
    ],
  });
  const fe = formErrors(e, { "spec.cidr": "cidr", "spec.networks": "nets", metadata: "name" });
  assert.deepEqual(fe.fields, { cidr: ['"10.0.0.0/33" is not an IPv4 CIDR like 10.0.0.0/24'], nets: ["network not found"] });
  assert.deepEqual(fe.form, ["spec.other: x", "no field at all"]);
  const longest = formErrors(new ApiError(422, "Invalid", "m", { causes: [{ field: "metadata.name", message: "bad name" }] }), {
    metadata: "meta",
    "metadata.name": "name",
  });
  assert.deepEqual(longest.fields, { name: ["bad name"] }, "the longest mapped path wins");
  assert.deepEqual(formErrors(new ApiError(409, "AlreadyExists", 'networks.network.kumo.dev "a" already exists'), {}).form, [
    'networks.network.kumo.dev "a" already exists',
  ]);
  assert.deepEqual(formErrors(new Error("cannot reach x"), {}).form, ["cannot reach x"]);
});
