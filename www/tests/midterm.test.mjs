// The mid-term profile in headless Chromium: the IndexedDB adapter keeps it across a page
// reload, the next session starts from it, and forget() deletes it. Run after `npm run build`:
// node --test www/tests/midterm.test.mjs
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { serve } from "../../scripts/static-server.mjs";

let server;
let base;
let browser;
before(async () => {
  server = await serve(new URL("../..", import.meta.url).pathname, 0, "127.0.0.1", "/www/");
  base = `http://127.0.0.1:${server.address().port}/www/`;
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-webgpu", "--disable-background-networking"],
  });
});
after(async () => {
  await browser.close();
  server.close();
});

// Runs in the page: a ranker with the mid-term profile in IndexedDB, and what it reports.
const session = async ({ listen, forget }) => {
  const { HomeRanker, indexedDbStore } = await import("../js/index.js");
  const page = await (await fetch("./example-page.json")).json();
  const ids = page.shelves.flatMap((s) => s.items.map((i) => i.id));
  const ranker = await HomeRanker.loadDefault({ midTerm: { store: indexedDbStore("homerank-test") } });
  const restored = ranker.stats().midTermProfile;
  const first = ranker.rerank(page);
  if (listen) {
    ranker.observe(ids.slice(0, listen).map((itemId, k) => ({ itemId, action: k % 2 ? "complete" : "skip", msPlayed: k % 2 ? 200000 : 3000, timestampMs: Date.now() - 1000 * (listen - k) })));
    await ranker.endSession();
  }
  if (forget) await ranker.forget();
  const out = { restored, eventsUsed: first.eventsUsed, held: ranker.stats().midTermEvents };
  ranker.free();
  return out;
};

test("the IndexedDB store keeps the mid-term profile across a reload; forget() deletes it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(base + "example-page.json");
  assert.deepEqual(await page.evaluate(session, { listen: 6 }), { restored: "none stored", eventsUsed: 0, held: 6 });
  await page.reload();
  assert.deepEqual(await page.evaluate(session, { forget: true }), { restored: "restored 6 events", eventsUsed: 6, held: 0 });
  await page.reload();
  assert.deepEqual(await page.evaluate(session, {}), { restored: "none stored", eventsUsed: 0, held: 0 });
  await context.close();
});
