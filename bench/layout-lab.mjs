// How long a layout comparison takes: in Node through the package, and in headless Chromium
// through the layout lab page (its Worker), for 1,000 listeners by default.
// Run: node bench/layout-lab.mjs [listeners] [--screenshot docs/lab.png]
// (after `npm run build`; Chromium from /usr/bin/chromium). --screenshot saves the page's results
// of the first comparison: the README's picture.
import os from "node:os";
import { chromium } from "playwright-core";
import { createLayoutLab } from "../js/node.js";
import { serve } from "../scripts/static-server.mjs";

const args = process.argv.slice(2);
const shotAt = args.indexOf("--screenshot");
const screenshot = shotAt >= 0 ? args.splice(shotAt, 2)[1] : null;
const listeners = Number(args[0] ?? 1000);
const server = { name: "Server order", rerank: false };
const device = { name: "On-device reranking", rerank: true };
const cases = [
  ["server order vs on-device", server, device],
  ["on-device vs on-device, grid S", device, { ...device, template: "grid", size: "s" }],
];

async function inNode(a, b) {
  const lab = await createLayoutLab(a, b, { listeners });
  const t = performance.now();
  while (lab.run(50) < lab.total);
  lab.report();
  lab.free();
  return (performance.now() - t) / 1000;
}

async function inChromium(page, a, b) {
  return page.evaluate(async ([a, b, listeners]) => {
    const { encodeLab, armFrom, defaultLab } = await import("./lab-state.js");
    const state = { ...defaultLab(), a: armFrom(a, "A"), b: armFrom(b, "B") };
    state.population.listeners = listeners;
    location.hash = `#lab=${encodeLab(state)}`;
    return state;
  }, [a, b, listeners]).then(async () => {
    await page.reload();
    await page.waitForSelector("body[data-ready=true]");
    await page.click("[data-testid=run]");
    await page.waitForSelector("[data-testid=results]:not([hidden])", { timeout: 600_000 });
    return page.evaluate(() => window.__lab.last.seconds);
  });
}

const srv = await serve(new URL("..", import.meta.url).pathname, 0, "127.0.0.1", "/www/");
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-webgpu", "--disable-background-networking"],
});
const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
await page.goto(`http://127.0.0.1:${srv.address().port}/www/lab.html`);
await page.waitForSelector("body[data-ready=true]");
console.log(`layout lab, ${listeners} listeners, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}, Node ${process.version}`);
console.log("| comparison | Node (s) | Chromium page, Worker (s) |\n|---|---|---|");
for (const [k, [name, a, b]] of cases.entries()) {
  const node = await inNode(a, b);
  const web = await inChromium(page, a, b);
  console.log(`| ${name} | ${node.toFixed(1)} | ${web.toFixed(1)} |`);
  if (k === 0 && screenshot) await page.locator("[data-testid=results]").screenshot({ path: screenshot });
}
console.log(`load after: ${os.loadavg()[0].toFixed(2)}`);
await browser.close();
srv.close();
