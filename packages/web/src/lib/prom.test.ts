import { test } from "node:test";
import assert from "node:assert/strict";
import { bucketDelta, bucketsOf, histogramQuantile, parsePrometheusText, sumBy } from "./prom.js";
import { appendFrame, deriveFrame } from "./metric-series.js";

// Shaped like prom-client's output for the server's metrics.
const TEXT = `# HELP kumo_apiserver_requests_total API requests by verb, resource and HTTP code
# TYPE kumo_apiserver_requests_total counter
kumo_apiserver_requests_total{verb="list",resource="hosts",code="200"} 12
kumo_apiserver_requests_total{verb="create",resource="networks",code="201"} 3
kumo_apiserver_requests_total{verb="create",resource="networks",code="422"} 1

# HELP kumo_apiserver_request_duration_seconds API request latency
# TYPE kumo_apiserver_request_duration_seconds histogram
kumo_apiserver_request_duration_seconds_bucket{le="0.001",verb="list",resource="hosts"} 2
kumo_apiserver_request_duration_seconds_bucket{le="0.01",verb="list",resource="hosts"} 10
kumo_apiserver_request_duration_seconds_bucket{le="+Inf",verb="list",resource="hosts"} 12
kumo_apiserver_request_duration_seconds_sum{verb="list",resource="hosts"} 0.05
kumo_apiserver_request_duration_seconds_count{verb="list",resource="hosts"} 12
kumo_apiserver_request_duration_seconds_bucket{le="0.001",verb="watch",resource="hosts"} 0
kumo_apiserver_request_duration_seconds_bucket{le="0.01",verb="watch",resource="hosts"} 0
kumo_apiserver_request_duration_seconds_bucket{le="+Inf",verb="watch",resource="hosts"} 5
# TYPE kumo_apiserver_conflicts_total counter
kumo_apiserver_conflicts_total{manager="none",resource="none",cause="stale"} 0
kumo_apiserver_conflicts_total{manager="mgmt",resource="hosts",cause="ownership"} 2
kumo_apiserver_conflicts_total{manager="mgmt",resource="hosts",cause="stale"} 1
kumo_apiserver_conflicts_total{manager="kumo-agent",resource="ports",cause="stale"} 4
# TYPE kumo_apiserver_watchers gauge
kumo_apiserver_watchers{resource="hosts"} 3
kumo_apiserver_watchers{resource="ports"} 1
kumo_host_heartbeat_age_seconds{host="h1"} 2.5
kumo_odd{msg="a \\"quoted\\", {braced} value\\nnext",x="y"} 1e3 1700000000000
kumo_nan NaN
kumo_controller_queue_depth{controller="instance"} 2
kumo_scheduler_queue_depth 5
garbage line without value
`;

test("parses samples, labels with escapes, special values and TYPE lines", () => {
  const { samples, types } = parsePrometheusText(TEXT);
  assert.equal(types.get("kumo_apiserver_request_duration_seconds"), "histogram");
  assert.equal(types.get("kumo_apiserver_watchers"), "gauge");
  const odd = samples.find((s) => s.name === "kumo_odd");
  assert.deepEqual(odd, { name: "kumo_odd", labels: { msg: 'a "quoted", {braced} value\nnext', x: "y" }, value: 1000 });
  assert.ok(Number.isNaN(samples.find((s) => s.name === "kumo_nan")!.value));
  const inf = samples.find((s) => s.labels.le === "+Inf" && s.labels.verb === "list");
  assert.equal(inf?.value, 12);
  assert.equal(
    samples.some((s) => s.name === "garbage"),
    false,
    "malformed lines are skipped",
  );
  assert.equal(samples.length, 22);
});

test("sumBy groups over labels; bucketsOf sums histogram buckets", () => {
  const { samples } = parsePrometheusText(TEXT);
  assert.deepEqual(
    [...sumBy(samples, "kumo_apiserver_requests_total", ["verb"])],
    [
      ["list", 12],
      ["create", 4],
    ],
  );
  assert.deepEqual([...sumBy(samples, "kumo_apiserver_requests_total")], [["", 16]]);
  assert.deepEqual(
    bucketsOf(samples, "kumo_apiserver_request_duration_seconds", (l) => l.verb !== "watch"),
    [
      { le: 0.001, count: 2 },
      { le: 0.01, count: 10 },
      { le: Infinity, count: 12 },
    ],
  );
});

test("histogramQuantile interpolates inside the bucket like Prometheus", () => {
  const b = [
    { le: 0.001, count: 2 },
    { le: 0.01, count: 10 },
    { le: Infinity, count: 12 },
  ];
  // rank 6 of 12: 4 of the 8 observations into (0.001, 0.01] → 0.001 + 0.009 * 4/8
  assert.ok(Math.abs(histogramQuantile(0.5, b)! - 0.0055) < 1e-12);
  assert.equal(histogramQuantile(0.99, b), 0.01, "+Inf bucket answers the highest finite bound");
  assert.equal(
    histogramQuantile(0.5, [
      { le: 1, count: 0 },
      { le: Infinity, count: 0 },
    ]),
    undefined,
  );
  assert.equal(histogramQuantile(0.5, []), undefined);
});

test("bucketDelta subtracts the previous scrape, and treats a counter reset as a fresh start", () => {
  const prev = [
    { le: 1, count: 5 },
    { le: Infinity, count: 6 },
  ];
  assert.deepEqual(
    bucketDelta(
      [
        { le: 1, count: 7 },
        { le: Infinity, count: 10 },
      ],
      prev,
    ),
    [
      { le: 1, count: 2 },
      { le: Infinity, count: 4 },
    ],
  );
  assert.deepEqual(
    bucketDelta(
      [
        { le: 1, count: 1 },
        { le: Infinity, count: 1 },
      ],
      prev,
    ),
    [
      { le: 1, count: 1 },
      { le: Infinity, count: 1 },
    ],
  );
});

test("deriveFrame: rates, quantiles, conflicts without the placeholder manager, gauges and host drift", () => {
  const cur = parsePrometheusText(TEXT);
  const prevText = TEXT.replace('resource="hosts",code="200"} 12', 'resource="hosts",code="200"} 2')
    .replace('le="0.01",verb="list",resource="hosts"} 10', 'le="0.01",verb="list",resource="hosts"} 2')
    .replace('le="+Inf",verb="list",resource="hosts"} 12', 'le="+Inf",verb="list",resource="hosts"} 2');
  const f = deriveFrame({ t: 5000, scrape: cur }, { t: 0, scrape: parsePrometheusText(prevText) }, [
    { metadata: { name: "h1" }, status: { dataplane: { driftRepairsTotal: 7 } } },
    { metadata: { name: "h2" } },
  ]);
  assert.equal(f.requests.list, 2, "10 lists in 5 s");
  assert.equal(f.requests.create, 0);
  // 10 new observations: 8 in (0.001, 0.01], 2 above → p50 at 0.001 + 0.009 * 5/8 s
  assert.ok(Math.abs(f.latency.p50 - (0.001 + (0.009 * 5) / 8) * 1000) < 1e-9);
  assert.deepEqual(f.conflicts, { mgmt: 3, "kumo-agent": 4 });
  assert.deepEqual(f.watchers, { hosts: 3, ports: 1 });
  assert.deepEqual(f.heartbeat, { h1: 2.5 });
  assert.deepEqual(f.drift, { h1: 7 });
  assert.deepEqual(f.queue, { instance: 2, scheduler: 5 });
  const first = deriveFrame({ t: 0, scrape: cur }, undefined, []);
  assert.equal(
    deriveFrame({ t: 0, scrape: parsePrometheusText("kumo_x 1") }, undefined, []).queue,
    undefined,
    "absent series stay absent (the chart says so)",
  );
  assert.equal(first.requests, undefined, "rates need two scrapes");
});

test("appendFrame keeps a bounded window per series", () => {
  let h = {};
  for (let t = 0; t < 5; t++) h = appendFrame(h, t, { watchers: { hosts: t, bad: NaN } }, 3);
  assert.deepEqual((h as Record<string, Record<string, unknown>>).watchers, {
    hosts: [
      { t: 2, v: 2 },
      { t: 3, v: 3 },
      { t: 4, v: 4 },
    ],
  });
});
