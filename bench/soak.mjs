// npm run soak: many reranks with a stream of events through the package in Node, checking that
// nothing fails and that wasm linear memory and the JS heap stay flat. Prints start/end numbers
// and exits non-zero on any error, lost item or growth.
//   HOMERANK_SOAK_RERANKS=100000 node bench/soak.mjs
import { syntheticPage } from "./core.mjs";

const RERANKS = Number(process.env.HOMERANK_SOAK_RERANKS ?? 100_000);
const { HomeRanker } = await import("../js/node.js");
const ranker = await HomeRanker.loadDefault();
const { page } = syntheticPage(200, 0, 32, 5);
const ids = page.shelves.flatMap((s) => s.items.map((i) => i.id));
const actions = ["play", "skip", "complete", "like", "impression", "dwell", "dislike", "save"];

function sample() {
  globalThis.gc?.();
  return { linear: ranker.stats().linearMemoryBytes, heap: process.memoryUsage().heapUsed };
}

function checkPage(result, k) {
  const got = result.shelves.flatMap((s) => s.items.map((i) => i.id));
  if (result.fallback !== null) throw new Error(`rerank ${k} fell back: ${result.fallback}`);
  if (got.length !== ids.length || new Set(got).size !== ids.length) throw new Error(`rerank ${k} lost or duplicated an item`);
}

// Warm up (the session fills to its 64 events, caches fill) before the first sample.
for (let k = 0; k < 2000; k++) {
  ranker.observe({ itemId: ids[(k * 13) % ids.length], action: actions[k % actions.length], msPlayed: (k % 300) * 1000 });
  ranker.rerank(page);
}
const start = sample();
const t0 = performance.now();
let errors = 0;
for (let k = 0; k < RERANKS; k++) {
  try {
    ranker.observe({ itemId: ids[(k * 7919) % ids.length], action: actions[k % actions.length], msPlayed: (k % 300) * 1000, timestampMs: 1.7e12 + k * 1000 });
    const result = ranker.rerank(page, k % 3 === 0 ? { maxArtistRun: 2 } : undefined);
    if (k % 1000 === 0) checkPage(result, k);
    if (k % 25_000 === 0 && k > 0) ranker.forget();
  } catch (e) {
    errors++;
    if (errors < 5) console.error(e);
  }
}
const seconds = (performance.now() - t0) / 1000;
const end = sample();
const mib = (b) => (b / 2 ** 20).toFixed(2);
const report = {
  bench: "soak",
  reranks: RERANKS,
  seconds: +seconds.toFixed(1),
  errors,
  linear_memory_mib: { start: +mib(start.linear), end: +mib(end.linear) },
  js_heap_mib: { start: +mib(start.heap), end: +mib(end.heap) },
};
console.log(JSON.stringify(report));
// Linear memory never shrinks, so any growth is a leak; the JS heap is allowed GC noise.
const flat = end.linear === start.linear && end.heap < start.heap + 8 * 2 ** 20;
if (errors > 0 || !flat) {
  console.error("soak failed: errors or memory growth");
  process.exit(1);
}
