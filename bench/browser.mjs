// npm run bench:browser: the bench in headless Chromium (Debian's chromium through playwright-core;
// nothing is downloaded). Serves the repository, opens bench/browser.html, prints the table and,
// with `--readme FILE`, writes it between the README's browser markers. The cold start is the
// fresh page's: streaming compile + instantiate + model load (the package's JS import apart).
// HOMERANK_BENCH_SHAPES, _WARMUP_MS, _SLICE_MS, _ROUNDS as for bench/rerank.mjs.
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serve } from "../scripts/static-server.mjs";
import { table, unmet } from "./core.mjs";
import { commitLabel, writeBlock } from "./rerank.mjs";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const shapes = process.env.HOMERANK_BENCH_SHAPES ?? "50x16,200x64,1000x64,5000x64";
const options = {
  warmupMs: Number(process.env.HOMERANK_BENCH_WARMUP_MS ?? 2000),
  sliceMs: Number(process.env.HOMERANK_BENCH_SLICE_MS ?? 250),
  rounds: Number(process.env.HOMERANK_BENCH_ROUNDS ?? 12),
};

const loadBefore = loadavg()[0];
const commit = commitLabel();
const server = await serve(ROOT);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic"],
});
let result;
try {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && console.error("page:", m.text()));
  page.on("pageerror", (e) => console.error("page:", e.message));
  const url = `http://127.0.0.1:${server.address().port}/bench/browser.html?shapes=${shapes}&options=${encodeURIComponent(JSON.stringify(options))}`;
  await page.goto(url);
  result = await page.evaluate(() => window.benchResult, { timeout: 0 });
  if (result.error) throw new Error(`the bench page failed: ${result.error}`);
  result.chromium = browser.version();
} finally {
  await browser.close();
  server.close();
}
for (const r of result.rows) console.log(JSON.stringify({ bench: "rerank-browser", wasm: result.wasm, ...r }));
console.log(`\nChromium ${result.chromium}, wasm ${result.wasm}, cold start ${result.coldMs.toFixed(1)} ms (+ ${result.importMs.toFixed(1)} ms importing the unbundled package)`);
console.log(table(result.rows).join("\n"));

const readme = process.argv.indexOf("--readme");
if (readme > 0) {
  const missed = unmet(result.rows, { coldMs: result.coldMs });
  writeBlock(process.argv[readme + 1] ?? "README.md",
    "<!-- begin:bench-browser-results (written by `node bench/browser.mjs --readme README.md`) -->",
    "<!-- end:bench-browser-results -->", [
      `**Chromium** ${result.chromium} (headless), module \`${result.wasm}\`, onnxruntime-web ${result.ortVersion} in the same ` +
        `page; run at commit ${commit} on ${new Date().toISOString().slice(0, 10)}, 1-minute load average ` +
        `${loadBefore.toFixed(2)} before and ${loadavg()[0].toFixed(2)} after.`,
      "",
      ...table(result.rows),
      "",
      `Cold start in a fresh page (module fetch with streaming compile, instantiate, model fetch, checksum and load): ` +
        `${result.coldMs.toFixed(0)} ms; importing the package's JS before it, unbundled (one request per module, as the ` +
        `demo serves it; a player bundles it): ${result.importMs.toFixed(0)} ms. \`performance.now()\` in the page has ` +
        "0.1 ms resolution, so the p50s are multiples of 0.1 ms.",
      "",
      missed.length ? `**Not met in this run:** ${missed.join("; ")}.` : "Every budget is met in this run.",
    ]);
}
