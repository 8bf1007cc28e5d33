/** The scheduler in a real server: refusals that explain themselves, spread and pack, selectors, anti-affinity, images. */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { startTestServer, type TestServer } from "../../testing.js";
import type { SchedulePolicy } from "./score.js";
import {
  P,
  agentConfirmsDeletion,
  allocatedOf,
  cond,
  eventsFor,
  fakeHosts,
  getInstance,
  hostObject,
  instanceObject,
  readyImage,
  until,
} from "./test-support.js";

/** A fresh server (scheduler counts every host, so tests do not share hosts) with beating hosts and a Ready image. */
async function withCloud(
  hosts: ReturnType<typeof hostObject>[],
  fn: (s: TestServer) => Promise<void>,
  policy?: SchedulePolicy,
): Promise<void> {
  const s = await startTestServer({ heartbeatGraceMs: 1500, schedulePolicy: policy });
  let beats: Awaited<ReturnType<typeof fakeHosts>> | undefined;
  try {
    await readyImage(s);
    beats = await fakeHosts(s, hosts);
    await fn(s);
  } finally {
    beats?.stop();
    await s.stop();
  }
}

const create = async (s: TestServer, name: string, spec: Record<string, unknown> = {}) => {
  const r = await s.call("POST", P.instances(), { body: instanceObject(name, spec) });
  assert.equal(r.status, 201, r.text);
};
const hostOf = async (s: TestServer, name: string) => (await getInstance(s, name))?.status?.host as string | undefined;
const scheduled = (s: TestServer, name: string) => until(`${name} scheduled`, () => hostOf(s, name));

describe("scheduler", () => {
  it("keeps an instance that fits nowhere Pending with the reason, one Warning event, and retries when hosts change", async () => {
    await withCloud(
      [hostObject("small-1", { cpu: 4000, memoryMiB: 128 }), hostObject("small-2", { cpu: 4000, memoryMiB: 128 })],
      async (s) => {
        await s.call("POST", P.hosts, { body: hostObject("silent", { cpu: 4000, memoryMiB: 8192 }) }); // no agent: never Ready
        await create(s, "big", { memoryMiB: 512 });
        const refused = await until("Unschedulable condition", async () => {
          const i = await getInstance(s, "big");
          return cond(i, "Scheduled")?.reason === "Unschedulable" && i;
        });
        assert.equal(cond(refused, "Scheduled").status, "False");
        assert.equal(cond(refused, "Scheduled").message, "0/3 hosts: 2 insufficient memory, 1 NotReady");
        assert.equal(refused.status.phase, "Pending");
        assert.equal(refused.status.host, undefined);
        await new Promise((r) => setTimeout(r, 3800)); // retries at +0.5, +1, +2 s back off; the next is ~4 s away
        const warnings = (await eventsFor(s, "big")).filter((e) => e.reason === "FailedScheduling");
        assert.equal(warnings.length, 1, "retries do not repeat the event within 30 s");
        assert.equal(warnings[0].type, "Warning");
        assert.equal(warnings[0].message, "0/3 hosts: 2 insufficient memory, 1 NotReady");
        const metrics = (await s.call("GET", "/metrics")).text;
        assert.match(metrics, /kumo_scheduler_decisions_total\{result="unschedulable"\} [3-9]/);
        assert.match(metrics, /kumo_scheduler_failures_total\{reason="InsufficientMemory"\} [3-9]/);
        const debug = (await s.call("GET", "/debug/state")).body.scheduler;
        assert.deepEqual(debug.pending, ["default/big"]);
        assert.equal(debug.lastDecisions.at(-1).result, "unschedulable");

        const grown = Date.now();
        await s.call("PATCH", `${P.hosts}/small-2`, {
          body: { spec: { capacity: { memoryMiB: 1024 } } },
          contentType: "application/merge-patch+json",
        });
        assert.equal(await scheduled(s, "big"), "small-2");
        assert.ok(
          Date.now() - grown < 2000,
          `placed ${Date.now() - grown} ms after the host grew: the host change retried it, not the backoff`,
        );
      },
    );
  });

  it("spreads instances evenly over equal hosts and records the placement on host and instance", async () => {
    await withCloud(
      ["a", "b", "c"].map((n) => hostObject(`spread-${n}`, { cpu: 8000, memoryMiB: 8192 })),
      async (s) => {
        await Promise.all(Array.from({ length: 9 }, (_, i) => create(s, `web-${i}`)));
        const hosts = await Promise.all(Array.from({ length: 9 }, (_, i) => scheduled(s, `web-${i}`)));
        const perHost = new Map<string, number>();
        for (const h of hosts) perHost.set(h, (perHost.get(h) ?? 0) + 1);
        assert.deepEqual([...perHost.values()], [3, 3, 3], JSON.stringify([...perHost]));
        for (const h of perHost.keys()) assert.deepEqual(await allocatedOf(s, h), { cpu: 750, memoryMiB: 192, instances: 3 });
        const inst = await getInstance(s, "web-0");
        assert.equal(inst.status.phase, "Scheduled");
        assert.equal(cond(inst, "Scheduled").status, "True");
        assert.equal(cond(inst, "Scheduled").message, `assigned to host ${inst.status.host}`);
        assert.ok(Date.parse(cond(inst, "Scheduled").lastTransitionTime) > Date.now() - 60_000);
        const ev = (await eventsFor(s, "web-0")).find((e) => e.reason === "Scheduled");
        assert.equal(ev?.type, "Normal");
        assert.match((await s.call("GET", "/metrics")).text, /kumo_scheduler_decisions_total\{result="scheduled"\} 9/);
      },
    );
  });

  it("packs instances onto the fullest host with --schedule-policy pack", async () => {
    await withCloud(
      ["a", "b", "c"].map((n) => hostObject(`pack-${n}`, { cpu: 8000, memoryMiB: 8192 })),
      async (s) => {
        await create(s, "first");
        const first = await scheduled(s, "first");
        for (let i = 0; i < 4; i++) await create(s, `next-${i}`);
        for (let i = 0; i < 4; i++) assert.equal(await scheduled(s, `next-${i}`), first);
      },
      "pack",
    );
  });

  it("honours node selectors and keeps an anti-affinity group on distinct hosts", async () => {
    const hosts = [
      hostObject("zone-a-1", { cpu: 8000, memoryMiB: 8192 }, { zone: "a" }),
      hostObject("zone-b-1", { cpu: 8000, memoryMiB: 8192 }, { zone: "b" }),
      hostObject("zone-b-2", { cpu: 8000, memoryMiB: 8192 }, { zone: "b" }),
    ];
    await withCloud(hosts, async (s) => {
      for (let i = 0; i < 3; i++) await create(s, `db-${i}`, { nodeSelector: { zone: "b" }, antiAffinityGroup: "db" });
      const placed = await until("two of the group placed, one refused", async () => {
        const hs = await Promise.all([0, 1, 2].map((i) => hostOf(s, `db-${i}`)));
        const refused = await Promise.all(
          [0, 1, 2].map(async (i) => cond(await getInstance(s, `db-${i}`), "Scheduled")?.reason === "Unschedulable"),
        );
        return hs.filter(Boolean).length === 2 && refused.filter(Boolean).length === 1 && hs;
      });
      assert.deepEqual(placed.filter(Boolean).sort(), ["zone-b-1", "zone-b-2"]);
      const loser = [0, 1, 2].find((i) => !placed[i])!;
      assert.equal(
        cond(await getInstance(s, `db-${loser}`), "Scheduled").message,
        "0/3 hosts: 2 anti-affinity group already present, 1 node selector mismatch",
      );
      const winner = [0, 1, 2].find((i) => placed[i])!;
      await s.call("DELETE", `${P.instances()}/db-${winner}`);
      await agentConfirmsDeletion(s, `db-${winner}`); // its host is Ready, so the controller waits for the agent
      assert.equal(await scheduled(s, `db-${loser}`), placed[winner], "the freed slot goes to the waiting member");
    });
  });

  it("refuses instances whose image does not exist, and places them once it is created", async () => {
    await withCloud([hostObject("img-host", { cpu: 8000, memoryMiB: 8192 })], async (s) => {
      await create(s, "early", { image: "later" });
      const i = await until("ImageNotFound", async () => {
        const x = await getInstance(s, "early");
        return cond(x, "Scheduled")?.reason === "ImageNotFound" && x;
      });
      assert.equal(cond(i, "Scheduled").message, 'image "later" not found');
      // Not yet uploaded is enough: waiting for the bytes is the agent's ImageReady step.
      await s.call("POST", P.images, {
        body: { apiVersion: "compute.kumo.dev/v1", kind: "Image", metadata: { name: "later" }, spec: { format: "qcow2" } },
      });
      assert.equal(await scheduled(s, "early"), "img-host");
    });
  });
});
