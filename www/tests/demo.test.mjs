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

async function open({ webgpu = false, hash = "", reducedMotion = "no-preference" } = {}) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [...BASE_ARGS, ...(webgpu ? ["--enable-unsafe-webgpu"] : ["--disable-gpu", "--disable-webgpu"])],
  });
  const page = await browser.newPage({ viewport: { width: 1500, height: 950 }, reducedMotion });
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

/**
 * Layout probes in the page, on `window.__layout`: `problems()` lists the card boxes that overlap
 * another card or a shelf title as drawn (cut to the scrolling rows around them, so the part of a
 * carousel scrolled out of sight does not count); `watch()` checks every frame until the function
 * it returns is called, which gives what went wrong while things moved: a row that scrolled by
 * itself, or a card drawn above or below its own row (a move that leaves its shelf behind).
 */
function installLayoutProbes() {
  const clipped = (el) => {
    const r = el.getBoundingClientRect();
    let box = { left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    for (let a = el.parentElement; a; a = a.parentElement) {
      const cs = getComputedStyle(a);
      if (cs.overflowX === "visible" && cs.overflowY === "visible") continue;
      const c = a.getBoundingClientRect();
      box = { left: Math.max(box.left, c.left), top: Math.max(box.top, c.top), right: Math.min(box.right, c.right), bottom: Math.min(box.bottom, c.bottom) };
    }
    return box.right - box.left > 1 && box.bottom - box.top > 1 ? box : null;
  };
  const overlap = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 1 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 1;
  const home = (el) => el.closest("[id$=-home]").id;
  const problems = () => {
    const cards = [...document.querySelectorAll("#device-home .card, #server-home .card")].map((el) => [el, clipped(el)]).filter(([, b]) => b);
    const titles = [...document.querySelectorAll(".shelf-head")].map((el) => [el, clipped(el)]).filter(([, b]) => b);
    const out = [];
    cards.forEach(([a, ab], i) => {
      for (const [b, bb] of cards.slice(i + 1)) if (overlap(ab, bb)) out.push(`${home(a)} ${a.dataset.key} overlaps ${home(b)} ${b.dataset.key}`);
      for (const [t, tb] of titles) if (overlap(ab, tb)) out.push(`${home(a)} ${a.dataset.key} covers the title "${t.textContent}"`);
    });
    return out;
  };
  const watch = () => {
    const seen = new Map();   // the first of each kind of problem per row
    const note = (what, text) => seen.has(what) || seen.set(what, text);
    let on = true;
    const frame = () => {
      if (!on) return;
      for (const row of document.querySelectorAll("#device-home .cards, #server-home .cards")) {
        const shelf = `${home(row)} ${row.parentElement.dataset.shelf}`;
        if (row.scrollLeft || row.scrollTop) note(`${shelf} scroll`, `${shelf}: the row scrolled by itself to ${Math.round(row.scrollLeft)},${Math.round(row.scrollTop)}`);
        const r = row.getBoundingClientRect();
        for (const c of row.children) {
          const b = c.getBoundingClientRect();
          if (b.top < r.top - 1 || b.bottom > r.bottom + 1) note(`${shelf} outside`, `${shelf}: ${c.dataset.key} drawn ${Math.round(b.top - r.top)} px from the top of its row`);
        }
      }
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    return () => {
      on = false;
      return [...seen.values()];
    };
  };
  window.__layout = { problems, watch };
}

const settle = (page) => page.waitForFunction(() => document.getAnimations().length === 0, null, { timeout: 5_000 });
const few = (list) => `${list.length}: ${list.slice(0, 6).join("; ")}`;

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
    // The layout once the cards' moves have ended, not a frame of them.
    await settle(page);
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

test("Auto-listen keeps the layout whole: moves stay in their shelves, and the page they leave is clean", async () => {
  const { browser, page, errors } = await open();
  try {
    await page.evaluate(installLayoutProbes);
    for (const [template, ms] of [["carousel", 20_000], ["grid", 6_000], ["hero", 6_000]]) {
      if (template !== "carousel") {
        await page.selectOption("[data-testid=template]", template);
        await settle(page);
      }
      const events = Number(await page.textContent("#st-events"));
      await page.evaluate(() => (window.__stopWatch = window.__layout.watch()));
      await page.click("[data-testid=auto]");
      await page.waitForTimeout(ms);
      await page.click("[data-testid=auto]");
      await settle(page);
      const moving = await page.evaluate(() => window.__stopWatch());
      const still = await page.evaluate(() => window.__layout.problems());
      if (template === "carousel") await page.screenshot({ path: new URL("demo-auto-listen-settled.png", ARTIFACTS).pathname });
      assert.ok(Number(await page.textContent("#st-events")) >= events + 5, `${template}: Auto-listen ran`);
      assert.deepEqual(still, [], `${template}, after the moves: ${few(still)}`);
      assert.deepEqual(moving, [], `${template}, while cards moved: ${few(moving)}`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a rerank in the middle of a move takes it over from where the cards are drawn", async () => {
  const { browser, page, errors } = await open();
  try {
    await act(page, await page.evaluate(() => window.__demo.result.shelves[0].items[1].id), "skip");
    await page.waitForTimeout(150);
    const jumps = await page.evaluate(() => {
      const drawn = () => new Map([...document.querySelectorAll("#device-home .card, #device-home .shelf-head")].map((el) =>
        [el.dataset.key ?? `title of ${el.parentElement.dataset.shelf}`, el.getBoundingClientRect()]));
      if (document.getAnimations().length === 0) return ["the first skip moved nothing, or its moves already ended"];
      const before = drawn();
      // The second skip in the same task as the measures: nothing is drawn in between.
      const id = window.__demo.result.shelves[0].items[0].id;
      document.querySelector(`#device-home .card[data-id="${CSS.escape(id)}"]`).click();
      document.querySelector("[data-testid=skip]").click();
      const out = [];
      for (const [key, now] of drawn()) {
        const was = before.get(key);
        if (was && Math.hypot(now.left - was.left, now.top - was.top) > 1) out.push(`${key} jumped ${Math.round(now.left - was.left)},${Math.round(now.top - was.top)} px`);
      }
      const stacked = [...document.querySelectorAll("#device-home .card, #device-home .shelf")].filter((el) => el.getAnimations().length > 1);
      if (stacked.length) out.push(`${stacked.length} elements with more than one move`);
      return out;
    });
    assert.deepEqual(jumps, [], few(jumps));
    await settle(page);
    await page.evaluate(installLayoutProbes);
    assert.deepEqual(await page.evaluate(() => window.__layout.problems()), []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("with reduced motion a rerank moves the cards without animating them", async () => {
  const { browser, page, errors } = await open({ reducedMotion: "reduce" });
  try {
    const shelf = await page.evaluate(() => window.__demo.serverPage.shelves[0]);
    await act(page, shelf.items[1].id, "skip");
    assert.notDeepEqual(await deviceOrder(page), await serverOrder(page));
    assert.equal(await page.evaluate(() => document.getAnimations().length), 0);
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
    await settle(page);
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

test("the mid-term profile is kept in this browser across a reload, and forget clears it", async () => {
  const { browser, page, errors } = await open();
  try {
    await page.check("[data-testid=midterm]");
    await page.waitForFunction(() => document.querySelector("[data-testid=st-profile]").textContent === "0 earlier");
    const ids = await page.evaluate(() => window.__demo.serverPage.shelves[0].items.slice(0, 3).map((i) => i.id));
    for (const id of ids) await act(page, id, "complete");
    await page.click("[data-testid=end-session]");
    await page.waitForFunction(() => document.querySelector("[data-testid=st-profile]").textContent === "3 earlier");
    assert.equal(await page.textContent("#st-events"), "0", "the session itself ended");

    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    assert.equal(await page.isChecked("[data-testid=midterm]"), true, "the toggle is in the URL");
    assert.equal(await page.textContent("[data-testid=st-profile]"), "3 earlier");
    assert.equal(await page.getAttribute("[data-testid=st-profile]", "title"), "restored 3 events");
    assert.equal(await page.evaluate(() => window.__demo.result.eventsUsed), 3, "the new visit starts from the profile");
    assert.notDeepEqual(await deviceOrder(page), await serverOrder(page));

    await page.click("[data-testid=forget]");
    await page.reload();
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    assert.equal(await page.getAttribute("[data-testid=st-profile]", "title"), "none stored");
    assert.deepEqual(await deviceOrder(page), await serverOrder(page));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a layout that carries an experiment shows the listener's arm", async () => {
  const { browser, page, errors } = await open();
  try {
    const layout = await page.evaluate(() => structuredClone(window.__demo.layout));
    const experiment = { id: "demo-exp", unitId: "listener-42", arms: [{ name: "control", weight: 1, holdback: true }, { name: "treatment", weight: 1 }] };
    const file = new URL("layout-experiment.json", ARTIFACTS).pathname;
    writeFileSync(file, JSON.stringify({ homerankLayout: 1, ...layout, experiment }));
    await page.setInputFiles("[data-testid=import]", file);
    await page.waitForFunction(() => document.querySelector("[data-testid=st-arm]").textContent !== "–");
    const arm = await page.textContent("[data-testid=st-arm]");
    assert.match(arm, /^demo-exp: (control|treatment)$/);
    if (arm.endsWith("control")) {
      const id = await page.evaluate(() => window.__demo.serverPage.shelves[0].items[0].id);
      await act(page, id, "skip");
      assert.deepEqual(await deviceOrder(page), await serverOrder(page), "the holdback arm keeps the server's order");
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
