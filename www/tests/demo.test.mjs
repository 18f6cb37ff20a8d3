// End-to-end tests of the demo in headless Chromium (playwright-core + Debian's chromium).
// Run: node --test www/tests/demo.test.mjs (needs `npm run build` first). Screenshots go to artifacts/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/static-server.mjs";

const ARTIFACTS = new URL("../../artifacts/", import.meta.url);
mkdirSync(ARTIFACTS, { recursive: true });
const BASE_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--no-first-run", "--disable-quic"];

let server;
let base;
before(async () => {
  server = await serve(new URL("../..", import.meta.url).pathname, 0, "127.0.0.1", "/www/");
  base = `http://127.0.0.1:${server.address().port}/www/`;
});
after(() => server.close());

async function open({ webgpu = false, hash = "" } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [...BASE_ARGS, ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu", "--disable-webgpu"])],
  });
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(base + hash);
  await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
  assert.equal(await page.getAttribute("body", "data-ready"), "true");
  return { browser, page, errors };
}

const deviceOrder = (page) => page.evaluate(() => window.__demo.result.shelves.map((s) => [s.id, s.items.map((i) => i.id)]));
const serverOrder = (page) => page.evaluate(() => window.__demo.serverPage.shelves.map((s) => [s.id, s.items.map((i) => i.id)]));

async function act(page, id, action) {
  await page.click(`#device-home .card[data-id="${id}"]`);
  await page.click(`[data-testid=${action}]`);
}

test("the page loads and renders both Homes", async () => {
  const { browser, page, errors } = await open();
  try {
    assert.equal(await page.locator("#server-home [data-testid=shelf]").count(), 6);
    assert.equal(await page.locator("#device-home [data-testid=shelf]").count(), 6);
    assert.equal(await page.locator("#device-home [data-testid=card]").count(), 6 * 12);
    assert.deepEqual(await deviceOrder(page), await serverOrder(page), "no events yet: the server's order");
    assert.match(await page.textContent("#st-model"), /^homerank-s@sha256:/);
    await page.screenshot({ path: new URL("demo-initial.png", ARTIFACTS).pathname });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a skip moves the skipped card and similar cards down, and the order changes", async () => {
  const { browser, page, errors } = await open();
  try {
    const shelf = await page.evaluate(() => window.__demo.serverPage.shelves[0]);
    const skipped = shelf.items[1];
    const dot = (a, b) => a.reduce((s, v, i) => s + v * b[i], 0);
    const similar = shelf.items
      .filter((i) => i.id !== skipped.id)
      .sort((a, b) => dot(b.embedding, skipped.embedding) - dot(a.embedding, skipped.embedding))
      .slice(0, 3)
      .map((i) => i.id);
    await act(page, skipped.id, "skip");
    await page.waitForTimeout(100);
    const result = await page.evaluate(() => window.__demo.result);
    assert.equal(result.fallback, null);
    assert.notDeepEqual(await deviceOrder(page), await serverOrder(page));
    const ranks = result.shelves.find((s) => s.id === shelf.id).items;
    const moved = (id) => { const r = ranks.find((i) => i.id === id); return r.newRank - r.serverRank; };
    assert.ok(moved(skipped.id) > 0, `the skipped card moved ${moved(skipped.id)}`);
    const meanSimilar = similar.map(moved).reduce((a, b) => a + b, 0) / similar.length;
    assert.ok(meanSimilar > 0, `similar cards moved ${similar.map(moved)}`);
    await page.screenshot({ path: new URL("demo-after-skip.png", ARTIFACTS).pathname });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a pinned shelf keeps its place while others move", async () => {
  const { browser, page, errors } = await open();
  try {
    const pinned = await page.evaluate(() => window.__demo.serverPage.shelves[2].id);
    await page.locator("[data-testid=shelf-list] li").nth(2).locator("[data-testid=pin]").click();
    assert.equal(await page.locator(`#device-home [data-shelf="${pinned}"] .badge-pin`).count(), 1);
    const cards = await page.evaluate(() => window.__demo.serverPage.shelves.flatMap((s) => s.items.slice(0, 3).map((i) => i.id)));
    for (const id of cards.slice(0, 4)) await act(page, id, "skip");
    const shelves = (await deviceOrder(page)).map(([id]) => id);
    assert.equal(shelves[2], pinned);
    assert.equal(await page.evaluate(() => window.__demo.result.shelves[2].pinned), true);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("layout export and import round-trip, and the URL carries the layout", async () => {
  const { browser, page, errors } = await open();
  try {
    await page.locator("[data-testid=shelves]").fill("4");
    await page.selectOption("[data-testid=template]", "grid");
    await page.locator("[data-testid=shelf-list] li").nth(1).locator("[data-testid=pin]").click();
    await page.locator("[data-testid=shelf-list] li").nth(3).locator("button[aria-label='Move up']").click();
    await page.locator("label:has(input[name=size][value=l])").click();
    await page.click("[data-testid=export]");
    const exported = await page.evaluate(() => window.__lastExport);
    const layout = await page.evaluate(() => structuredClone(window.__demo.layout));
    assert.equal(exported.shelves, 4);
    assert.equal(exported.template, "grid");
    const url = page.url();

    // A fresh page with the shared link shows the same layout.
    const { browser: b2, page: p2 } = await open({ hash: new URL(url).hash });
    assert.deepEqual(await p2.evaluate(() => structuredClone(window.__demo.layout)), layout);
    assert.equal(await p2.locator("#server-home [data-testid=shelf]").count(), 4);
    await b2.close();

    // Change things, then import the file: back to the exported layout.
    await page.locator("[data-testid=shelves]").fill("9");
    await page.selectOption("[data-testid=template]", "hero");
    const file = new URL("layout.json", ARTIFACTS).pathname;
    writeFileSync(file, JSON.stringify(exported));
    await page.setInputFiles("[data-testid=import]", file);
    await page.waitForFunction(() => window.__demo.layout.shelves === 4);
    const back = await page.evaluate(() => structuredClone(window.__demo.layout));
    const { homerankLayout, page: _p, ...exportedLayout } = exported;
    assert.deepEqual(back, { ...exportedLayout });
    assert.equal(await page.locator("#device-home.grid").count(), 1);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("with WebGPU disabled the demo runs on the CPU", async () => {
  const { browser, page, errors } = await open({ webgpu: false });
  try {
    assert.equal(await page.evaluate(async () => !navigator.gpu || (await navigator.gpu.requestAdapter()) === null), true);
    await page.click("[data-testid=auto]");
    await page.waitForFunction(() => window.__demo.result.eventsUsed >= 3, null, { timeout: 30_000 });
    await page.click("[data-testid=auto]");
    assert.match(await page.textContent("#st-backend"), /^cpu/);
    await page.screenshot({ path: new URL("demo-auto-listen.png", ARTIFACTS).pathname });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("?backend=gpu scores on WebGPU (SwiftShader here) and a skip still moves the card down", async () => {
  const { browser, page, errors } = await open({ webgpu: true, hash: "?backend=gpu" });
  try {
    const shelf = await page.evaluate(() => window.__demo.serverPage.shelves[0]);
    const skipped = shelf.items[1];
    await act(page, skipped.id, "skip");
    await page.waitForFunction(() => window.__demo.result?.eventsUsed >= 1, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.__demo.result);
    assert.equal(result.backend, "gpu", result.backendFallback);
    assert.equal(result.fallback, null);
    const r = result.shelves.find((s) => s.id === shelf.id).items.find((i) => i.id === skipped.id);
    assert.ok(r.newRank > r.serverRank, `the skipped card moved ${r.newRank - r.serverRank}`);
    assert.match(await page.textContent("#st-backend"), /^gpu \(webgpu\)/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("?backend=gpu without WebGPU runs on the CPU and says why", async () => {
  const { browser, page, errors } = await open({ webgpu: false, hash: "?backend=gpu" });
  try {
    const shelf = await page.evaluate(() => window.__demo.serverPage.shelves[0]);
    await act(page, shelf.items[0].id, "skip");
    await page.waitForFunction(() => window.__demo.result?.eventsUsed >= 1, null, { timeout: 30_000 });
    const result = await page.evaluate(() => window.__demo.result);
    assert.equal(result.backend, "cpu-simd");
    assert.match(result.backendFallback, /WebGPU/i);
    assert.match(await page.getAttribute("#st-backend", "title"), /WebGPU/i);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("forget session returns to the server order", async () => {
  const { browser, page } = await open();
  try {
    const ids = await page.evaluate(() => window.__demo.serverPage.shelves[0].items.slice(0, 2).map((i) => i.id));
    for (const id of ids) await act(page, id, "complete");
    await page.click("[data-testid=forget]");
    assert.deepEqual(await deviceOrder(page), await serverOrder(page));
    assert.equal(await page.textContent("#st-events"), "0");
  } finally {
    await browser.close();
  }
});
