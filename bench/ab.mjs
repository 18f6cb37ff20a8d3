// A/B of two builds of the same wasm module in one Node process, calls interleaved so that the
// machine's load falls on both alike: node bench/ab.mjs DIR_A DIR_B (each a wasm-bindgen
// --target web output: homerank.js + homerank_bg.wasm). Prints p50 per build and shape and the
// median of the per-round ratios B / A. HOMERANK_AB_PREPARED=1 reranks a page prepared once
// (`WasmPreparedPage`, both builds must have it) instead of the page object;
// HOMERANK_AB_EVENT=1 also observes one new event before each prepared rerank (the whole forward,
// see bench/core.mjs).
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { eventStream, syntheticPage } from "./core.mjs";

const [dirA, dirB] = process.argv.slice(2);
const SHAPES = (process.env.HOMERANK_BENCH_SHAPES ?? "50x16,200x64,1000x64").split(",").map((s) => s.split("x").map(Number));
const ROUNDS = Number(process.env.HOMERANK_AB_ROUNDS ?? 15);
const EVENT = process.env.HOMERANK_AB_EVENT === "1";
const PREPARED = EVENT || process.env.HOMERANK_AB_PREPARED === "1";
const model = readFileSync(new URL("../models/homerank-s.gguf", import.meta.url));

async function load(dir) {
  const glue = await import(pathToFileURL(`${dir}/homerank.js`).href);
  await glue.default({ module_or_path: readFileSync(`${dir}/homerank_bg.wasm`) });
  const ranker = await glue.WasmRanker.load(model, undefined, "cpu");
  // For a page and its events, a function that reranks it: the page object, or the page
  // prepared once.
  return (page, events) => {
    ranker.forget();
    ranker.observe(events);
    if (!PREPARED) return () => ranker.rerank(page);
    const prepared = new glue.WasmPreparedPage(page);
    if (!EVENT) return () => ranker.rerankPrepared(prepared);
    const next = eventStream(page);
    return () => {
      ranker.observe([next()]);
      return ranker.rerankPrepared(prepared);
    };
  };
}

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const builds = [await load(dirA), await load(dirB)];
for (const [n, l] of SHAPES) {
  const { page, events } = syntheticPage(n, l);
  const reranks = builds.map((build) => build(page, events));
  const reps = Math.max(3, Math.round(2000 / (n + 10)));
  const times = [[], []];
  const ratios = [];
  for (let round = 0; round < ROUNDS + 3; round++) {
    const t = reranks.map((rerank) => {
      const s = performance.now();
      for (let i = 0; i < reps; i++) rerank();
      return (performance.now() - s) / reps;
    });
    if (round < 3) continue; // warm-up
    times[0].push(t[0]);
    times[1].push(t[1]);
    ratios.push(t[1] / t[0]);
  }
  console.log(JSON.stringify({ n, l, a_p50_ms: +median(times[0]).toFixed(3), b_p50_ms: +median(times[1]).toFixed(3), b_over_a: +median(ratios).toFixed(3) }));
}
