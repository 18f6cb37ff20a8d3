// End-to-end tests of the layout lab (www/lab.html) in headless Chromium: a comparison runs in
// a Worker, renders its table and plots, exports CSV, round-trips through a link, cancels, and
// the page handles input while it runs. Run: node --test www/tests/lab.test.mjs (after `npm run build`).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/static-server.mjs";

const ARTIFACTS = new URL("../../artifacts/", import.meta.url);
mkdirSync(ARTIFACTS, { recursive: true });
const ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic", "--disable-gpu", "--disable-webgpu"];

let server;
let base;
let browser;
before(async () => {
  server = await serve(new URL("../..", import.meta.url).pathname, 0, "127.0.0.1", "/www/");
  base = `http://127.0.0.1:${server.address().port}/www/lab.html`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ARGS });
});
after(async () => {
  await browser.close();
  server.close();
});

async function open(hash = "") {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + hash);
  await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
  assert.equal(await page.getAttribute("body", "data-ready"), "true");
  return { page, errors };
}

const fixture = (f) => JSON.parse(readFileSync(new URL(`../../tests/fixtures/layout-lab/${f}`, import.meta.url), "utf8"));

test("a comparison runs, renders its table, plots and heat maps, and exports CSV", async () => {
  const { page, errors } = await open();
  await page.fill("[data-testid=listeners]", "60");
  await page.click("[data-testid=run]");
  await page.waitForSelector("[data-testid=results]:not([hidden])", { timeout: 120_000 });
  assert.match(await page.textContent("[data-testid=run-status]"), /^done in/);
  assert.equal(await page.locator("[data-testid=metrics] tbody tr").count(), 11);
  assert.equal(await page.locator("[data-testid=diff-plot] svg circle").count(), 11);
  assert.equal(await page.locator("[data-testid=heat] svg").count(), 2);
  assert.ok(await page.locator("[data-testid=personas-table] tbody tr").count() >= 5);
  const report = await page.evaluate(() => window.__lab.last.report);
  assert.equal(report.listeners, 60);
  assert.equal(report.arms[0].layout.rerank, false);
  assert.equal(report.arms[1].layout.rerank, true);
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-csv]")]);
  assert.equal(download.suggestedFilename(), "homerank-layout-ab.csv");
  const csv = readFileSync(await download.path(), "utf8");
  assert.match(csv, /^scope,metric,a,b,diff,lo,hi\nall,playsPerSession,/);
  await page.screenshot({ path: new URL("lab-results.png", ARTIFACTS).pathname, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a link carries both layouts and the population, and the page gives the CLI's numbers for it", async () => {
  const { page } = await open();
  // The fixture's comparison, entered as a designer would share it: through the URL.
  const hash = await page.evaluate(async ([a, b, population]) => {
    const { encodeLab, armFrom } = await import("./lab-state.js");
    return `#lab=${encodeLab({ a: armFrom(a, "A"), b: armFrom(b, "B"), population })}`;
  }, [fixture("a.json"), fixture("b.json"), fixture("population.json")]);
  await page.close();
  const shared = await open(hash);
  assert.equal(await shared.page.inputValue("[data-testid=name-b]"), "on-device, hero");
  assert.equal(await shared.page.inputValue("[data-testid=listeners]"), "40");
  assert.equal(await shared.page.isChecked("[data-testid=rerank-a]"), false);
  await shared.page.click("[data-testid=run]");
  await shared.page.waitForSelector("[data-testid=results]:not([hidden])", { timeout: 120_000 });
  const report = await shared.page.evaluate(() => window.__lab.last.report);
  const expected = fixture("report.json");
  assert.deepEqual(report.metrics, expected.metrics, "same seed: the numbers of `homerank layout-ab`");
  assert.deepEqual(report.personas, expected.personas);
  assert.deepEqual(report.arms.map((a) => a.heat), expected.arms.map((a) => a.heat));
  await shared.page.close();
});

test("a running comparison can be cancelled, and the page handles input while it runs", async () => {
  const { page, errors } = await open();
  await page.fill("[data-testid=listeners]", "5000");
  await page.click("[data-testid=run]");
  await page.waitForFunction(() => document.querySelector("[data-testid=progress]").value > 0, null, { timeout: 60_000 });
  // Input is handled while the Worker runs: typing renames the layout, and the run goes on.
  await page.fill("[data-testid=name-a]", "Typed while running");
  assert.equal(await page.evaluate(() => window.__lab.state.a.name), "Typed while running");
  assert.equal(await page.evaluate(() => window.__lab.running), true);
  const before = await page.evaluate(() => document.querySelector("[data-testid=progress]").value);
  assert.ok(before < 1, "still running");
  await page.click("[data-testid=cancel]");
  assert.equal(await page.textContent("[data-testid=run-status]"), "cancelled");
  assert.equal(await page.evaluate(() => window.__lab.running), false);
  assert.equal(await page.isHidden("[data-testid=results]"), true);
  assert.equal(await page.isDisabled("[data-testid=cancel]"), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test("the demo's Layout lab link opens the lab on the demo's layout, server order against on-device", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(base.replace("lab.html", "index.html"));
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  await page.selectOption("[data-testid=template]", "grid");
  await page.click("[data-testid=lab-link]");
  await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
  assert.match(page.url(), /\/lab\.html#lab=/);
  const { a, b } = await page.evaluate(() => window.__lab.state);
  assert.deepEqual([a.template, a.rerank, b.template, b.rerank], ["grid", false, "grid", true]);
  await page.close();
});
