// npm run bench: the full `rerank` call through the package in Node (wasm, one thread), for the
// The budget shapes (docs/ARCHITECTURE.md, "Budgets"), after ≥ 2 s of warm-up per shape (Node tiers wasm up after ~50 calls).
// Prints a table and one JSON line per measurement. Cold start = compile + instantiate + load.
// Each shape also runs the HR-S core in onnxruntime-web (int8, wasm, one thread) in the same run;
// `ratio` = onnxruntime-web p50 / homerank p50. homerank's time is the whole rerank call
// (featurize + forward + compose, through the JS boundary); onnxruntime-web's is the core forward
// on ready tokens, so the ratio understates homerank's advantage.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { ortFeeds, ortSession, timeAsync } from "./ort.mjs";

const SHAPES = (process.env.HOMERANK_BENCH_SHAPES ?? "50x16,200x64,1000x64,5000x64")
  .split(",").map((s) => s.split("x").map(Number));
const WARMUP_MS = Number(process.env.HOMERANK_BENCH_WARMUP_MS ?? 2000);
const MEASURE_MS = Number(process.env.HOMERANK_BENCH_MEASURE_MS ?? 3000);

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 4294967296);
}

/** A page of n items in shelves of 50 with random unit embeddings, and l events on its items. */
export function syntheticPage(n, l, dim = 32, seed = 1) {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const types = ["track", "episode", "audiobook", "playlist"];
  const shelves = [];
  for (let s = 0; s * 50 < n; s++) {
    const items = [];
    for (let i = 0; i < Math.min(50, n - s * 50); i++) {
      items.push({ id: `s${s}-i${i}`, type: types[(s + i) % 4], serverScore: 1 - i / 50,
        embedding: Array.from({ length: dim }, gauss), artistId: `a${Math.floor(r() * 40)}`, durationMs: 200000 });
    }
    shelves.push({ id: `shelf-${s}`, title: `Shelf ${s}`, items });
  }
  const ids = shelves.flatMap((s) => s.items.map((i) => i.id));
  const actions = ["play", "skip", "complete", "like"];
  const events = Array.from({ length: l }, (_, k) => ({ itemId: ids[(k * 7) % ids.length], action: actions[k % 4], msPlayed: 4000 * k }));
  return { page: { pageId: `bench-${n}`, embeddingDim: dim, shelves }, events };
}

/** Multiply-adds ×2 of one HR-S forward (d=64, FFN 256, 2 + 2 layers, E=32). */
export function flops(n, l) {
  const d = 64, f = 256, e = 32;
  const attn = (tq, tk) => 2 * tq * d * d + 2 * tk * d * d + 2 * tq * tk * d;
  return 2 * ((n + l) * e * d + 2 * (attn(l, l) + 2 * l * d * f) + 2 * (attn(n, n) + attn(n, l) + 2 * n * d * f) + n * d);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

export function time(fn, warmupMs, measureMs) {
  let t0 = performance.now();
  while (performance.now() - t0 < warmupMs) fn();
  const times = [];
  t0 = performance.now();
  while (performance.now() - t0 < measureMs || times.length < 10) {
    const s = performance.now();
    fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p90: percentile(times, 0.9), iters: times.length };
}

async function main() {
  const t0 = performance.now();
  const { HomeRanker } = await import("../js/node.js");
  const ranker = await HomeRanker.loadDefault();
  const coldMs = performance.now() - t0;
  const rows = [];
  const line = (o) => console.log(JSON.stringify(o));
  const loadBefore = loadavg()[0];
  const sizes = {};
  for (const flavour of ["simd", "plain", "webgpu", "sim"]) {
    const path = `pkg/${flavour}/homerank_bg.wasm`;
    const bytes = readFileSync(new URL(`../${path}`, import.meta.url));
    sizes[flavour] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    line({ bench: "wasm-size", flavour, ...sizes[flavour] });
  }
  const modelBytes = readFileSync(new URL("../models/homerank-s.gguf", import.meta.url)).length;
  line({ bench: "model-size", bytes: modelBytes });
  line({ bench: "cold-start", ms: +coldMs.toFixed(2), includes: "import + wasm compile + instantiate + model load/verify" });
  const ort = await ortSession();
  if (!ort.session) console.error(`onnxruntime-web comparison skipped: ${ort.reason}`);
  let peakLinear = ranker.stats().linearMemoryBytes;
  for (const [n, l] of SHAPES) {
    const { page, events } = syntheticPage(n, l);
    ranker.forget();
    ranker.observe(events);
    const check = ranker.rerank(page);
    if (check.fallback !== null || check.eventsUsed !== l) throw new Error(`bench page fell back: ${check.fallback}`);
    const t = time(() => ranker.rerank(page), WARMUP_MS, MEASURE_MS);
    const gflops = flops(n, l) / (t.p50 * 1e-3) / 1e9;
    peakLinear = Math.max(peakLinear, ranker.stats().linearMemoryBytes);
    line({ bench: "rerank", impl: `homerank-wasm-${ranker.stats().wasm}`, n, l, p50_ms: +t.p50.toFixed(3), p90_ms: +t.p90.toFixed(3), gflops: +gflops.toFixed(2), iters: t.iters });
    let ortT = null;
    if (ort.session) {
      const feeds = ortFeeds(ort.ort, n, l, rng(n * 1000 + l));
      ortT = await timeAsync(() => ort.session.run(feeds), WARMUP_MS, MEASURE_MS);
      line({ bench: "rerank", impl: `onnxruntime-web-${ort.version}-wasm-int8-1thread`, n, l, p50_ms: +ortT.p50.toFixed(3), p90_ms: +ortT.p90.toFixed(3), gflops: +(flops(n, l) / (ortT.p50 * 1e-3) / 1e9).toFixed(2), iters: ortT.iters, ratio: +(ortT.p50 / t.p50).toFixed(2) });
    }
    rows.push({ n, l, ...t, gflops, ort: ortT });
  }
  const mem = process.memoryUsage();
  line({ bench: "memory", peak_linear_memory_mb: +(peakLinear / 2 ** 20).toFixed(2), rss_mb: +(mem.rss / 2 ** 20).toFixed(1), array_buffers_mb: +(mem.arrayBuffers / 2 ** 20).toFixed(1) });
  console.log(`\nmodel ${ranker.modelId}, wasm ${ranker.stats().wasm}, cold start ${coldMs.toFixed(1)} ms`);
  console.log(`peak linear memory ${(peakLinear / 2 ** 20).toFixed(2)} MiB`);
  console.log("    N    L     p50 ms     p90 ms   GFLOP/s   iters   ort p50 ms   ort p90 ms   ort/homerank");
  const fmt = (v, w, d = 3) => (v === undefined ? "-" : v.toFixed(d)).padStart(w);
  for (const r of rows) {
    console.log(`${String(r.n).padStart(5)} ${String(r.l).padStart(4)} ${fmt(r.p50, 10)} ${fmt(r.p90, 10)} ${fmt(r.gflops, 9, 2)} ${String(r.iters).padStart(7)} ${fmt(r.ort?.p50, 12)} ${fmt(r.ort?.p90, 12)} ${fmt(r.ort && r.ort.p50 / r.p50, 14, 2)}`);
  }
  const readme = process.argv.indexOf("--readme");
  if (readme > 0) {
    const run = { rows, sizes, modelBytes, coldMs, peakLinear, wasm: ranker.stats().wasm, loads: [loadBefore, loadavg()[0]] };
    writeReadme(process.argv[readme + 1] ?? "README.md", run);
  }
}

// Budgets of docs/ARCHITECTURE.md ("Budgets"): p50 ms and the margin over onnxruntime-web.
const BUDGETS = { "200x64": 2, "1000x64": 12 };
const BEGIN = "<!-- begin:bench-results (written by `node bench/rerank.mjs --readme README.md`) -->";
const END = "<!-- end:bench-results -->";

/** The README's results block, from this run: the table, sizes, cold start, and what is not met. */
function writeReadme(path, run) {
  const git = (...args) => { try { return execFileSync("git", args, { encoding: "utf8" }).trim(); } catch { return "?"; } };
  const commit = git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--untracked-files=no") ? " + uncommitted changes" : "");
  const kb = (b) => b.toLocaleString("en-US");
  const ms = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const lines = [
    BEGIN,
    `Run at commit ${commit} on ${new Date().toISOString().slice(0, 10)}: Node ${process.versions.node}, wasm ${run.wasm}, ` +
      `${cpus().length} cores, 1-minute load average ${run.loads[0].toFixed(2)} before and ${run.loads[1].toFixed(2)} after ` +
      "(above ~0.3 the machine was not idle and the times are pessimistic).",
    "",
    "| N | L | homerank p50 ms | p90 ms | GFLOP/s | onnxruntime-web p50 ms | ort / homerank | budget |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const unmet = [];
  for (const r of run.rows) {
    const budget = BUDGETS[`${r.n}x${r.l}`];
    const ratio = r.ort ? r.ort.p50 / r.p50 : null;
    lines.push(`| ${r.n} | ${r.l} | ${ms(r.p50)} | ${ms(r.p90)} | ${r.gflops.toFixed(1)} | ${r.ort ? ms(r.ort.p50) : "–"} | ` +
      `${ratio === null ? "–" : ratio.toFixed(2)} | ${budget ? `${budget} ms, ≥ 2× ort` : "–"} |`);
    if (budget && r.p50 > budget) unmet.push(`p50 ${ms(r.p50)} ms at N = ${r.n} (budget ${budget} ms)`);
    if (budget && ratio !== null && ratio < 2) unmet.push(`${ratio.toFixed(2)}× onnxruntime-web at N = ${r.n} (budget 2×)`);
  }
  if (run.coldMs > 60) unmet.push(`cold start ${run.coldMs.toFixed(0)} ms (budget 60 ms)`);
  const size = (f) => `${kb(run.sizes[f].raw)} B raw / ${kb(run.sizes[f].gzip)} B gzip`;
  lines.push("",
    `Sizes: wasm simd ${size("simd")}, plain ${size("plain")}, the WebGPU build (loaded only when asked for) ` +
      `${size("webgpu")}, the demo's simulator module ${size("sim")} (budget 900 KB raw / 300 KB gzip per ` +
      `shipped module); model ${kb(run.modelBytes)} B (budget 300 KB); peak linear memory ` +
      `${(run.peakLinear / 2 ** 20).toFixed(1)} MiB; cold start (import + compile + instantiate + model load and ` +
      `checksum) ${run.coldMs.toFixed(0)} ms.`,
    "", unmet.length ? `**Not met in this run:** ${unmet.join("; ")}.` : "Every budget is met in this run.", END);
  const text = readFileSync(path, "utf8");
  const [a, b] = [text.indexOf(BEGIN), text.indexOf(END)];
  if (a < 0 || b < a) throw new Error(`${path}: no ${BEGIN} … ${END} block`);
  writeFileSync(path, text.slice(0, a) + lines.join("\n") + text.slice(b + END.length));
  console.log(`wrote the bench results into ${path}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
