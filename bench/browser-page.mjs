// The browser half of `npm run bench`, in a page served from the repository root: the package as
// a page imports it (streaming compilation of the module it picks) and onnxruntime-web's
// wasm-only build in the same page, the same shapes and interleaved measurement as Node
// (bench/core.mjs). Publishes `window.benchResult` for bench/browser.mjs.
import { homerankContenders, interleaved, ortFeeds, rng, syntheticPage } from "./core.mjs";

const params = new URLSearchParams(location.search);
const shapes = (params.get("shapes") ?? "50x16,200x64,1000x64,5000x64").split(",").map((s) => s.split("x").map(Number));
const options = JSON.parse(params.get("options") ?? "{}");
const out = document.getElementById("out");

async function run() {
  const t0 = performance.now();
  const { HomeRanker } = await import("../js/index.js");
  const t1 = performance.now();
  const ranker = await HomeRanker.loadDefault();
  // Cold start as the budget counts it: fetch + streaming compile + instantiate + model fetch,
  // checksum and load. Importing the package's own JS is apart: unbundled, as here, it is one
  // request per module; a player ships it bundled.
  const coldMs = performance.now() - t1;
  const importMs = t1 - t0;
  const ort = await import("../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs");
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = new URL("../node_modules/onnxruntime-web/dist/", import.meta.url).href;
  const model = new Uint8Array(await (await fetch(new URL("./onnx/hr-s-core-int8.onnx", import.meta.url))).arrayBuffer());
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const rows = [];
  for (const [n, l] of shapes) {
    const { page, events } = syntheticPage(n, l);
    ranker.forget();
    ranker.observe(events);
    const prepared = ranker.prepare(page);
    const check = ranker.rerank(prepared);
    if (check.fallback !== null || check.eventsUsed !== l) throw new Error(`bench page fell back: ${check.fallback}`);
    const feeds = ortFeeds(ort, n, l, rng(n * 1000 + l));
    const t = await interleaved({ ...homerankContenders(ranker, page, prepared, l), ort: () => session.run(feeds) }, options);
    prepared.free();
    rows.push({ n, l, ...t });
    out.textContent += `\n${JSON.stringify({ n, l, ...t })}`;
  }
  return { coldMs, importMs, wasm: ranker.stats().wasm, ortVersion: ort.env.versions?.web ?? "?", userAgent: navigator.userAgent, rows };
}

window.benchResult = run().catch((e) => ({ error: `${e?.message ?? e}` }));
