/**
 * Issue 5's Done-when against a real cloud: `kumo up --hosts 1`, the stock images uploaded, then Debian's
 * chromium (playwright-core) signs in to the dashboard at <API>/ui/ and opens the (empty) instance list;
 * a second tab creates a network, a subnet and a busybox container through the forms; the first tab sees
 * the row arrive and reach Running through the watch, without a reload. Then its detail page (the whole
 * create timeline), Hosts, Topology and Metrics, and a delete through the confirmation. Every view is
 * screenshotted into test-results/dashboard-fullstack/.
 * Selectors follow packages/web/src/e2e/dashboard.test.ts (the web package exports no test helpers).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { REPO as repo, freePort, kumoJson, runKumo, tearDownUserCloud, until } from "./user-cloud.js";

const CHROMIUM = "/usr/bin/chromium";
const APP_INDEX = join(repo, "packages/web/dist/app/index.html");
const OUT = join(repo, "test-results/dashboard-fullstack");
// The existing dashboard test's flags; the cloud's certificate is trusted by pinning its key (below).
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
const STEPS = ["Scheduled", "ImageReady", "PortBound", "NetworkReady", "Started", "AddressAssigned", "Running"];

const need = ["runc", "dnsmasq", "busybox", "cpio"].filter((b) => spawnSync("which", [b]).status !== 0);
const skip =
  process.getuid?.() !== 0
    ? "needs root (kumo up starts namespace hosts and runc)"
    : !existsSync(CHROMIUM)
      ? `${CHROMIUM} is missing (apt-get install chromium)`
      : !existsSync(APP_INDEX)
        ? `the dashboard is not built (${APP_INDEX} is missing): run \`npm run -w @kumo/web build\``
        : need.length
          ? `needs ${need.join(", ")}`
          : false;

let home = "";
let env: NodeJS.ProcessEnv = {};
let prefix = "\u0000";
let url = "";
let token = "";
let profile = "";
let ctx: BrowserContext | undefined;

const kumo = (args: string[], allowFail = false) => runKumo(env, args, { allowFail, timeoutMs: 120_000 });
const json = (args: string[]) => kumoJson(env, args);

/** The base64 SHA-256 of the server certificate's public key, after verifying it chains to the cloud's CA. */
function pinnedKey(apiUrl: string, ca: string): Promise<string> {
  const u = new URL(apiUrl);
  return new Promise((res, rej) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca }, () => {
      const spki = new X509Certificate(s.getPeerCertificate().raw).publicKey.export({ type: "spki", format: "der" });
      s.end();
      res(createHash("sha256").update(spki).digest("base64"));
    });
    s.once("error", rej);
  });
}

before(async () => {
  if (skip) return;
  mkdirSync(OUT, { recursive: true });
  home = await mkdtemp(join(tmpdir(), "kumo-e2e-dashboard-"));
  env = { ...process.env, KUMO_HOME: home, KUMO_CONFIG: join(home, "config"), KUMO_LOG_LEVEL: "warn" };
  kumo(["up", "--hosts", "1", "--listen", `127.0.0.1:${await freePort()}`]);
  const upload = spawnSync(join(repo, "scripts/images/upload-images.sh"), { env, encoding: "utf8", timeout: 300_000 });
  assert.equal(upload.status, 0, upload.stderr);
  const host = await until(
    "a Ready host",
    () => {
      const items = json(["get", "hosts"]).items;
      return items.length === 1 && items[0].status?.conditions?.some((c: any) => c.type === "Ready" && c.status === "True") && items[0];
    },
    60_000,
  );
  prefix = host.metadata.name.slice(0, host.metadata.name.indexOf("-host-"));
  url = /server: (\S+)/.exec(await readFile(join(home, "admin.kubeconfig"), "utf8"))![1];
  token = (await readFile(join(home, "admin.token"), "utf8")).trim();
  const spki = await pinnedKey(url, await readFile(join(home, "pki/ca.crt"), "utf8"));
  profile = await mkdtemp(join(tmpdir(), "kumo-chromium-"));
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...FLAGS, `--ignore-certificate-errors-spki-list=${spki}`],
    viewport: { width: 1366, height: 768 },
  });
  ctx.setDefaultTimeout(15_000);
});

after(async () => {
  await ctx?.close().catch(() => undefined);
  if (profile) await rm(profile, { recursive: true, force: true });
  if (!home) return;
  await tearDownUserCloud(env, home, prefix);
});

const shot = (page: Page, name: string) => page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
const heading = (page: Page, name: string | RegExp) => page.getByRole("heading", { level: 1, name }).waitFor();

test(
  "dashboard on a real cloud: forms, live Running, timeline, hosts, topology, metrics, delete",
  { skip, timeout: 180_000 },
  async (t) => {
    const page = ctx!.pages()[0] ?? (await ctx!.newPage());
    const pageErrors: string[] = [];
    page.on("pageerror", (e) => pageErrors.push(e.message));

    // --- Sign in with the admin token `kumo up` wrote.
    await page.goto(`${url}/ui/`);
    await page.getByLabel("Token").fill(token);
    await shot(page, "01-sign-in");
    await page.getByRole("button", { name: "Sign in" }).click();
    await heading(page, "Overview");
    await page.locator('[data-kind="hosts.infra.kumo.dev"] .count', { hasText: /^1$/ }).waitFor();
    await page.locator('[data-kind="images.compute.kumo.dev"] .count', { hasText: /^[1-9]/ }).waitFor();
    await shot(page, "02-overview");

    // --- The instance list, empty and live; this tab is not reloaded until web-1 is Running in it.
    await page.getByRole("link", { name: "Resources" }).click();
    await heading(page, "Resources: Instance");
    await page.getByText(/^0 instances · live$/).waitFor();
    await page.evaluate(() => {
      const w = window as unknown as { __noReload: number; __rows: string[] };
      w.__noReload = 1;
      w.__rows = [];
      new MutationObserver(() => {
        const t = document.querySelector<HTMLElement>('tr[data-name="web-1"]')?.innerText;
        if (t && t !== w.__rows.at(-1)) w.__rows.push(t);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    // --- A second tab, signed in the same way, creates a network, its subnet and a busybox container.
    const forms = await ctx!.newPage();
    forms.on("pageerror", (e) => pageErrors.push(e.message));
    await forms.goto(`${url}/ui/#/actions`);
    await forms.getByLabel("Token").fill(token);
    await forms.getByRole("button", { name: "Sign in" }).click();
    await heading(forms, "Actions");
    const netForm = forms.getByRole("form", { name: "Create network" });
    await netForm.getByLabel("Name").fill("web-net");
    await netForm.getByRole("button", { name: "Create network" }).click();
    await netForm.getByRole("status").filter({ hasText: "Created network web-net" }).waitFor();
    const snForm = forms.getByRole("form", { name: "Create subnet" });
    await snForm.getByLabel("Network").selectOption("web-net"); // the form re-reads networks every few seconds
    await snForm.getByLabel("CIDR").fill("10.77.0.0/24");
    await snForm.getByRole("button", { name: "Create subnet" }).click();
    await snForm.getByRole("status").filter({ hasText: "Created subnet web-net-subnet" }).waitFor();
    const inForm = forms.getByRole("form", { name: "Create instance" });
    await inForm.getByLabel("Name").fill("web-1");
    await inForm.getByLabel("Image").fill("busybox");
    await inForm.getByLabel("Command (optional)").fill("sleep 3600");
    await inForm.getByRole("checkbox", { name: "web-net" }).check();
    await shot(forms, "03-actions");
    await inForm.getByRole("button", { name: "Create instance" }).click();
    await inForm.getByRole("status").getByRole("link", { name: "web-1" }).waitFor();
    await forms.close();

    // --- Back in the list: the row arrived through the watch and goes to Running, with no reload.
    const row = page.locator('tr[data-name="web-1"]');
    await row.filter({ hasText: "Running" }).waitFor({ timeout: 90_000 });
    assert.match(await row.innerText(), /10\.77\.0\.\d+/, "the row shows the DHCP address");
    assert.equal(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload), 1, "the list was never reloaded");
    const seen = await page.evaluate(() => (window as unknown as { __rows: string[] }).__rows);
    t.diagnostic(`web-1 row states seen live: ${seen.map((r) => r.replace(/\s+/g, " ")).join(" | ")}`);
    assert.ok(seen.length >= 2 && !/Running/.test(seen[0]), "the row was seen before it was Running");
    await shot(page, "04-resources-instances");

    // --- Detail: the create flow as a timeline, every step True.
    await row.getByRole("link", { name: "web-1" }).click();
    await heading(page, "Instance default/web-1");
    assert.equal(await page.getByTestId("phase").innerText(), "Running");
    const timeline = page.getByRole("list", { name: "Conditions timeline" });
    for (const step of STEPS) await timeline.locator(`li.step-true[data-condition="${step}"]`).waitFor();
    // In the order they happened: each step's time (the title of its age) is no earlier than the one above.
    const shown = await timeline
      .locator("li[data-condition]")
      .evaluateAll((els) =>
        els.map((e) => ({ type: e.getAttribute("data-condition")!, at: e.querySelector("span[title]")?.getAttribute("title") ?? "" })),
      );
    const steps = shown.filter((s) => STEPS.includes(s.type));
    assert.deepEqual(steps.map((s) => s.type).sort(), [...STEPS].sort(), "every create step is on the timeline");
    assert.equal(steps[0].type, "Scheduled");
    assert.equal(steps.at(-1)!.type, "Running");
    for (let i = 1; i < steps.length; i++)
      assert.ok(
        Date.parse(steps[i].at) >= Date.parse(steps[i - 1].at),
        `${steps[i].type} (${steps[i].at}) not before ${steps[i - 1].type} (${steps[i - 1].at})`,
      );
    await shot(page, "05-instance-detail-timeline");

    // --- Hosts, Topology and Metrics with the instance running.
    await page.getByRole("link", { name: "Hosts" }).click();
    await heading(page, "Hosts");
    const hostRow = page.locator(`tr[data-host="${prefix}-host-1"]`);
    await hostRow.filter({ hasText: "Ready" }).waitFor();
    await shot(page, "06-hosts");
    await page.getByRole("link", { name: "Topology" }).click();
    await heading(page, "Topology");
    await page.getByRole("img", { name: /^Topology: 1 hosts, 1 networks, .* 0 broken tunnels$/ }).waitFor();
    await page.locator("svg title", { hasText: /^instance web-1: Running, 10\.77\.0\.\d+/ }).waitFor({ state: "attached" });
    await shot(page, "07-topology");
    await page.getByRole("link", { name: "Metrics" }).click();
    await heading(page, "Metrics");
    await page.getByText(/· [2-9]\d* samples/).waitFor({ timeout: 15_000 });
    await page.getByRole("figure", { name: "API latency (excluding watch)" }).locator(".legend li", { hasText: "p99" }).waitFor();
    await shot(page, "08-metrics");

    // --- Delete through the confirmation; the list drops the row live.
    await page.getByRole("link", { name: "Resources" }).click();
    await page.locator('tr[data-name="web-1"]').getByRole("link", { name: "web-1" }).click();
    await heading(page, "Instance default/web-1");
    await page.getByRole("button", { name: "Delete…" }).click();
    const dialog = page.getByRole("dialog", { name: "Delete instance web-1?" });
    await dialog.waitFor();
    await shot(page, "09-delete-confirm");
    await dialog.getByRole("button", { name: "Delete", exact: true }).click();
    await heading(page, "Resources: Instance");
    await page.locator('tr[data-name="web-1"]').waitFor({ state: "detached", timeout: 60_000 });
    await page.getByText(/^0 instances · live$/).waitFor();
    await shot(page, "10-resources-after-delete");
    assert.equal(kumo(["get", "instance", "web-1"], true).code === 0, false, "web-1 is gone from the API");
    assert.deepEqual(pageErrors, [], "no uncaught errors in the page");
  },
);
