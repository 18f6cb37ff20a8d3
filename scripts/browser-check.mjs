// Opens a built page in headless Chromium (playwright-core, Debian's chromium) and checks the
// result the page wrote into #out. Usage: node browser-check.mjs <dist-dir>
import { chromium } from "playwright-core";
import { serve } from "./static-server.mjs";

const server = await serve(process.argv[2]);
const url = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
  // playwright's launch() already uses a fresh temporary profile.
});
let failed = false;
try {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && console.error("page:", m.text()));
  await page.goto(url);
  await page.waitForSelector("#out[data-done]", { timeout: 60_000 });
  const text = await page.textContent("#out");
  console.log(text);
  const done = await page.getAttribute("#out", "data-done");
  if (done !== "ok") throw new Error(text);
  const r = JSON.parse(text);
  const same = (a, b) => [...a].sort().join() === [...b].sort().join();
  if (r.fallback !== null || r.eventsUsed !== 3 || !same(r.serverOrder, r.newOrder) || r.serverOrder.join() === r.newOrder.join()
      || r.workerOrder.join() !== r.newOrder.join() || r.wasm !== "relaxed") {
    throw new Error("unexpected result in the browser");
  }
} catch (e) {
  console.error(e.message);
  failed = true;
} finally {
  await browser.close();
  server.close();
}
process.exit(failed ? 1 : 0);
