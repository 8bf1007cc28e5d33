/**
 * The dashboard end to end: a real kumo server in this process serving the built app at /ui/, Debian's
 * chromium driven by playwright-core. Signs in (wrong token first), creates through the forms, watches
 * lists update without a reload, opens detail pages, deletes with confirmation, and screenshots every
 * view into test-results/dashboard/ (override with KUMO_TEST_RESULTS).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { builtinKinds, KindRegistry } from "@kumo/api";
import { startTestServer, type TestServer } from "@kumo/server/testing";
import { seedHosts } from "./seed.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const here = dirname(fileURLToPath(import.meta.url)); // packages/web/dist/e2e
const APP_INDEX = resolve(here, "../app/index.html");
const OUT = process.env.KUMO_TEST_RESULTS ?? resolve(here, "../../test-results/dashboard");
const NET = "/apis/network.kumo.dev/v1/namespaces/default/networks";

const skip = existsSync(CHROMIUM)
  ? false
  : `${CHROMIUM} is missing (apt-get install chromium); the dashboard e2e test needs Debian's chromium`;

let srv: TestServer | undefined;
let ctx: BrowserContext | undefined;
let profile: string | undefined;

before(async () => {
  if (skip) return;
  // The server looks for the app when it starts, so a missing build would only show up as a 404 page.
  assert.ok(
    existsSync(APP_INDEX),
    `the dashboard is not built (${APP_INDEX} is missing): run \`npm run -w @kumo/web build\` (or \`make build\`) first`,
  );
  mkdirSync(OUT, { recursive: true });
  srv = await startTestServer();
  profile = mkdtempSync(join(tmpdir(), "kumo-chromium-"));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    ignoreHTTPSErrors: true,
    viewport: { width: 1366, height: 768 },
  });
  ctx.setDefaultTimeout(10_000);
});

after(async () => {
  await ctx?.close().catch(() => undefined);
  await srv?.stop();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();

test("dashboard: sign in, create, live lists, detail, delete, every view", { skip, timeout: 90_000 }, async () => {
  const s = srv!;
  const page = ctx!.pages()[0] ?? (await ctx!.newPage());
  const consoleErrors: string[] = [];
  page.on("pageerror", (e) => consoleErrors.push(e.message));

  // --- sign-in: the wrong token first; the page must show the API's own 401 message.
  await page.goto(`${s.url}/ui/`);
  await page.getByLabel("Token").fill("not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  const expected401 = (await s.call("GET", "/api/v1", { token: "not-a-token" })).body.message as string;
  assert.ok(expected401, "the server answers a bad token with a message");
  await page.getByRole("alert").filter({ hasText: expected401 }).waitFor();
  assert.match(await page.getByRole("alert").innerText(), /^401 /);
  await shot(page, "01-sign-in-error");
  await page.getByLabel("Token").fill(s.adminToken);
  await page.getByRole("button", { name: "Sign in" }).click();
  await heading(page, "Overview");
  await page.locator('[data-kind="namespaces"] .count').filter({ hasText: /^\d+$/ }).waitFor();
  await shot(page, "02-overview");

  // --- Actions: a network through the form, then a subnet with a bad CIDR (field error), then fixed.
  await page.getByRole("link", { name: "Actions" }).click();
  await heading(page, "Actions");
  const netForm = page.getByRole("form", { name: "Create network" });
  await netForm.getByLabel("Name").fill("web-net");
  await netForm.getByRole("button", { name: "Create network" }).click();
  await netForm.getByRole("status").filter({ hasText: "Created network web-net" }).waitFor();
  const net = await s.call("GET", `${NET}/web-net`);
  assert.equal(net.status, 200, "the form created the network");
  const snForm = page.getByRole("form", { name: "Create subnet" });
  await snForm.getByLabel("Network").selectOption("web-net"); // the list refreshes every few seconds
  await snForm.getByLabel("CIDR").fill("10.20.0.0/33");
  await snForm.getByRole("button", { name: "Create subnet" }).click();
  const cidrError = snForm.locator('[data-field-error="sn-cidr"]');
  await cidrError.waitFor();
  assert.match(await cidrError.innerText(), /10\.20\.0\.0\/33.*not an IPv4 CIDR/);
  assert.equal(await snForm.getByLabel("CIDR").getAttribute("aria-invalid"), "true");
  await shot(page, "03-actions-field-error");
  await snForm.getByLabel("CIDR").fill("10.20.0.0/24");
  await snForm.getByRole("button", { name: "Create subnet" }).click();
  await snForm.getByRole("status").filter({ hasText: "Created subnet web-net-subnet" }).waitFor();

  // --- Resources: a row created through the API appears live, without a reload.
  await page.goto(`${s.url}/ui/#/resources/networks.network.kumo.dev`);
  await page.locator('tr[data-name="web-net"]').waitFor();
  await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 1));
  const created = await s.call("POST", NET, {
    body: {
      apiVersion: "network.kumo.dev/v1",
      kind: "Network",
      metadata: { name: "api-net", labels: { team: "e2e" } },
      spec: { vni: 4242 },
    },
  });
  assert.equal(created.status, 201, created.text);
  const apiRow = page.locator('tr[data-name="api-net"]');
  await apiRow.waitFor();
  assert.match(await apiRow.innerText(), /4242/);
  assert.equal(
    await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload),
    1,
    "the row arrived without a page reload",
  );
  await page.getByLabel("Labels").fill("team=e2e");
  await page.getByLabel("Labels").press("Enter");
  await page.locator('tr[data-name="web-net"]').waitFor({ state: "detached" });
  await apiRow.waitFor();
  await shot(page, "04-resources-live");

  // --- Detail: spec, timeline section, write history naming the dashboard as the field manager.
  await page.getByRole("link", { name: "api-net" }).click();
  await heading(page, "Network default/api-net");
  await page.getByRole("heading", { name: "Conditions" }).waitFor();
  await page.getByRole("table", { name: "Write history" }).getByRole("cell", { name: "Create" }).first().waitFor();
  const patched = await s.call("PATCH", `${NET}/api-net?fieldManager=e2e-editor`, {
    body: { metadata: { labels: { tier: "gold" } } },
    contentType: "application/merge-patch+json",
  });
  assert.equal(patched.status, 200, patched.text);
  await page.getByRole("table", { name: "Write history" }).getByRole("cell", { name: "e2e-editor" }).waitFor();
  await page
    .getByText("tier=gold")
    .or(page.locator("code", { hasText: "tier" }))
    .first()
    .waitFor();
  await shot(page, "05-detail-history");

  // --- Delete with confirmation: Cancel keeps it, Delete removes it and the list updates live.
  await page.getByRole("button", { name: "Delete…" }).click();
  const dialog = page.getByRole("dialog", { name: "Delete network api-net?" });
  await dialog.waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), "Cancel", "Cancel has the initial focus");
  await shot(page, "06-delete-confirm");
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  assert.equal((await s.call("GET", `${NET}/api-net`)).status, 200, "Escape cancels");
  await page.getByRole("button", { name: "Delete…" }).click();
  await dialog.getByRole("button", { name: "Delete", exact: true }).click();
  await heading(page, "Resources: Network");
  await page.locator('tr[data-name="api-net"]').waitFor({ state: "detached" });
  assert.equal((await s.call("GET", `${NET}/api-net`)).status, 404);

  // --- Compute, when this server serves it: an instance through the form, watched on its detail page.
  const compute = (await s.call("GET", "/apis/compute.kumo.dev/v1")).status === 200;
  if (compute) {
    await page.getByRole("link", { name: "Actions" }).click();
    const inForm = page.getByRole("form", { name: "Create instance" });
    await inForm.getByLabel("Name").fill("web-1");
    await inForm.getByLabel("Image").fill("busybox");
    await inForm.getByLabel("Command (optional)").fill("sleep 3600");
    await inForm.getByRole("checkbox", { name: "web-net" }).check();
    await inForm.getByRole("button", { name: "Create instance" }).click();
    await inForm.getByRole("status").getByRole("link", { name: "web-1" }).click();
    await heading(page, "Instance default/web-1");
    // No hosts with agents here: the scheduler refuses, and the timeline must say why, live.
    const scheduled = page.locator('[data-condition="Scheduled"]');
    await scheduled.waitFor();
    const inst = (await s.call("GET", "/apis/compute.kumo.dev/v1/namespaces/default/instances/web-1")).body;
    const cond = inst.status?.conditions?.find((c: { type: string }) => c.type === "Scheduled");
    assert.equal(inst.status?.phase ?? "Pending", "Pending");
    assert.equal(cond?.status, "False");
    await scheduled.filter({ hasText: cond.reason }).waitFor();
    assert.equal(await page.getByTestId("phase").innerText(), "Pending");
    await shot(page, "07-instance-detail");
  } else {
    console.log("# compute.kumo.dev is not served by this server: instance steps skipped");
  }

  // --- Hosts and Topology, with two registered hosts (one without a VTEP: drawn broken).
  await seedHosts(s);
  await page.getByRole("link", { name: "Hosts" }).click();
  await heading(page, "Hosts");
  await page.locator('tr[data-host="e2e-h1"]').filter({ hasText: "192.0.2.11" }).waitFor();
  await page.locator('tr[data-host="e2e-h2"]').filter({ hasText: "missing" }).waitFor();
  await page.getByRole("table", { name: "Dataplane entries" }).locator("td.drift").first().waitFor();
  await shot(page, "08-hosts");
  await page.getByRole("link", { name: "Topology" }).click();
  await heading(page, "Topology");
  await page.locator('[data-broken-host="e2e-h2"]').waitFor();
  await page.getByText(/Tunnel default\/web-net e2e-h1 ⇄ e2e-h2: .*e2e-h2: no network\.kumo\.dev\/vtep-ip annotation/).waitFor();
  assert.ok((await page.locator("path.tunnel.broken").count()) >= 1, "the broken tunnel is drawn");
  await shot(page, "09-topology");

  // --- Metrics: sampled by the page itself; two samples give rates and latency quantiles.
  await page.getByRole("link", { name: "Metrics" }).click();
  await heading(page, "Metrics");
  await page.getByText(/· [2-9]\d* samples/).waitFor({ timeout: 15_000 });
  const latency = page.getByRole("figure", { name: "API latency (excluding watch)" });
  await latency.locator(".legend li", { hasText: "p99" }).waitFor();
  await page.getByRole("figure", { name: "Open watches by resource" }).locator(".legend li").first().waitFor();
  await shot(page, "10-metrics");

  // --- Overview again: counts and health reflect what was created.
  await page.getByRole("link", { name: "Overview" }).click();
  await page.locator('[data-kind="networks.network.kumo.dev"] .count', { hasText: "1" }).waitFor();
  await page.locator('[data-kind="hosts.infra.kumo.dev"] .count', { hasText: "2" }).waitFor();
  await shot(page, "11-overview-after");
  assert.deepEqual(consoleErrors, [], "no uncaught errors in the page");
});

test("dashboard without compute.kumo.dev: every view still works and says what is missing", { skip, timeout: 60_000 }, async () => {
  const s = await startTestServer({ kinds: new KindRegistry(builtinKinds.filter((k) => k.group !== "compute.kumo.dev")) });
  const page = await ctx!.newPage();
  const pageErrors: string[] = [];
  page.on("pageerror", (e) => pageErrors.push(e.message));
  try {
    await page.goto(`${s.url}/ui/`);
    await page.getByLabel("Token").fill(s.adminToken);
    await page.getByRole("button", { name: "Sign in" }).click();
    await heading(page, "Overview");
    await page.getByRole("article", { name: "Compute" }).getByText("Not served by this server.").waitFor();
    await page.locator('[data-kind="networks.network.kumo.dev"] .count').waitFor();
    await page.getByRole("link", { name: "Actions" }).click();
    await page.getByText("This server does not serve compute.kumo.dev instances.").waitFor();
    await page.getByRole("form", { name: "Create network" }).waitFor();
    await page.getByRole("link", { name: "Topology" }).click();
    await page.getByText("compute.kumo.dev is not served: instances are not shown.").waitFor();
    await page.getByRole("link", { name: "Resources" }).click();
    await heading(page, "Resources: Network"); // the default kind (instances) is absent: falls back to networks
    await shot(page, "12-no-compute-resources");
    assert.deepEqual(pageErrors, []);
  } finally {
    await page.close();
    await s.stop();
  }
});
