// npm run bench (Node half): homerank's whole `rerank` through the package (wasm, one thread)
// against onnxruntime-web running the HR-S core (int8, wasm, one thread) on the budget shapes,
// interleaved in rounds (bench/core.mjs). homerank runs three ways per shape
// (`homerankContenders`): `rerank(page)` reads the page object across the JS boundary on every
// call; `rerank(prepared)` reranks a page read once (`HomeRanker.prepare`) with the session
// unchanged, so the session encoder's output is reused; "new event" observes one event and then
// reranks the prepared page, as a player does after each play or skip — the whole forward, the
// same work as onnxruntime-web's. homerank's times cover validation, features, the forward,
// negative feedback, layout and the result's trip back; onnxruntime-web's is the core forward on
// ready tokens. Cold start = compile + instantiate + model load and checksum in a fresh process
// (the package's JS import reported apart). `--readme FILE` writes the results between the
// README's markers (with the commit and the machine's load).
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { cpus, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { homerankContenders, interleaved, rng, ortFeeds, syntheticPage, table, unmet } from "./core.mjs";
import { ortSession } from "./ort.mjs";

const SHAPES = (process.env.HOMERANK_BENCH_SHAPES ?? "50x16,200x64,1000x64,5000x64")
  .split(",").map((s) => s.split("x").map(Number));
const OPTIONS = {
  warmupMs: Number(process.env.HOMERANK_BENCH_WARMUP_MS ?? 2000),
  sliceMs: Number(process.env.HOMERANK_BENCH_SLICE_MS ?? 250),
  rounds: Number(process.env.HOMERANK_BENCH_ROUNDS ?? 12),
};

/**
 * Cold start in fresh Node processes (the median of 5): compile + instantiate + model load and
 * checksum (`loadDefault`), and apart from it the import of the package's JS.
 */
function coldStart() {
  const script = `const t0 = performance.now();
const { HomeRanker } = await import(${JSON.stringify(new URL("../js/node.js", import.meta.url).href)});
const t1 = performance.now();
await HomeRanker.loadDefault();
console.log(JSON.stringify({ ms: performance.now() - t1, importMs: t1 - t0 }));`;
  const runs = Array.from({ length: 5 }, () => JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })));
  const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[2];
  return { ms: median("ms"), importMs: median("importMs") };
}

async function main() {
  const line = (o) => console.log(JSON.stringify(o));
  const commit = commitLabel();
  const loadBefore = loadavg()[0];
  const cold = coldStart();
  const coldMs = cold.ms;
  line({ bench: "cold-start", ms: +coldMs.toFixed(2), import_ms: +cold.importMs.toFixed(2), includes: "compile + instantiate + model load/verify (median of 5 fresh processes); import apart" });
  const { HomeRanker } = await import("../js/node.js");
  const ranker = await HomeRanker.loadDefault();
  const sizes = {};
  for (const flavour of ["simd", "relaxed", "plain", "webgpu", "sim"]) {
    const bytes = readFileSync(new URL(`../pkg/${flavour}/homerank_bg.wasm`, import.meta.url));
    sizes[flavour] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
    line({ bench: "wasm-size", flavour, ...sizes[flavour] });
  }
  const modelBytes = readFileSync(new URL("../models/homerank-s.gguf", import.meta.url)).length;
  const ort = await ortSession();
  if (!ort.session) console.error(`onnxruntime-web comparison skipped: ${ort.reason}`);
  let peakLinear = ranker.stats().linearMemoryBytes;
  const rows = [];
  for (const [n, l] of SHAPES) {
    const { page, events } = syntheticPage(n, l);
    ranker.forget();
    ranker.observe(events);
    const prepared = ranker.prepare(page);
    const check = ranker.rerank(prepared);
    if (check.fallback !== null || check.eventsUsed !== l) throw new Error(`bench page fell back: ${check.fallback}`);
    const contenders = homerankContenders(ranker, page, prepared, l);
    if (ort.session) {
      const feeds = ortFeeds(ort.ort, n, l, rng(n * 1000 + l));
      contenders.ort = () => ort.session.run(feeds);
    }
    const t = await interleaved(contenders, OPTIONS);
    prepared.free();
    peakLinear = Math.max(peakLinear, ranker.stats().linearMemoryBytes);
    rows.push({ n, l, ...t });
    line({ bench: "rerank", n, l, wasm: ranker.stats().wasm, ...t });
  }
  const mem = process.memoryUsage();
  line({ bench: "memory", peak_linear_memory_mb: +(peakLinear / 2 ** 20).toFixed(2), rss_mb: +(mem.rss / 2 ** 20).toFixed(1) });
  const run = { commit, rows, sizes, modelBytes, coldMs, importMs: cold.importMs, peakLinear, wasm: ranker.stats().wasm, ortVersion: ort.version, loads: [loadBefore, loadavg()[0]] };
  console.log(`\nmodel ${ranker.modelId}, wasm ${run.wasm}, cold start ${coldMs.toFixed(1)} ms, peak linear memory ${(peakLinear / 2 ** 20).toFixed(2)} MiB`);
  console.log(table(rows).join("\n"));
  const readme = process.argv.indexOf("--readme");
  if (readme > 0) writeReadme(process.argv[readme + 1] ?? "README.md", run);
}

export const git = (...args) => {
  try {
    return execFileSync("git", args, { encoding: "utf8", cwd: fileURLToPath(new URL("..", import.meta.url)) }).trim();
  } catch {
    return "?";
  }
};

/**
 * The commit a run measured, marked when the working tree differs from it — README.md aside,
 * which the benches themselves write (`npm run bench` runs the browser half after the Node half
 * has written its block). Taken when a run starts: an edit made while it runs is not what it
 * measured.
 */
export const commitLabel = () =>
  git("rev-parse", "--short", "HEAD") +
  (git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)README.md") ? " + uncommitted changes" : "");

/** Replaces the text between `begin` and `end` in `path` with `lines`. */
export function writeBlock(path, begin, end, lines) {
  const text = readFileSync(path, "utf8");
  const [a, b] = [text.indexOf(begin), text.indexOf(end)];
  if (a < 0 || b < a) throw new Error(`${path}: no ${begin} … ${end} block`);
  writeFileSync(path, text.slice(0, a) + [begin, ...lines, end].join("\n") + text.slice(b + end.length));
  console.log(`wrote the bench results into ${path}`);
}

const BEGIN = "<!-- begin:bench-results (written by `node bench/rerank.mjs --readme README.md`) -->";
const END = "<!-- end:bench-results -->";

/** The README's Node block: the run, the table, sizes, cold start, and what is not met. */
function writeReadme(path, run) {
  const kb = (b) => b.toLocaleString("en-US");
  const size = (f) => `${kb(run.sizes[f].raw)} B raw / ${kb(run.sizes[f].gzip)} B gzip`;
  const missed = unmet(run.rows, { coldMs: run.coldMs });
  writeBlock(path, BEGIN, END, [
    `**Node** ${process.versions.node}, module \`${run.wasm}\`, onnxruntime-web ${run.ortVersion ?? "–"}; run at commit ` +
      `${run.commit} on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores, 1-minute load average ` +
      `${run.loads[0].toFixed(2)} before and ${run.loads[1].toFixed(2)} after (the bench itself keeps one core busy).`,
    "",
    ...table(run.rows),
    "",
    `Sizes: wasm simd ${size("simd")}, relaxed SIMD ${size("relaxed")}, plain ${size("plain")}, the WebGPU build (loaded only when asked for) ` +
      `${size("webgpu")}, the demo's simulator module ${size("sim")} (budget 900 KB raw / 300 KB gzip per ` +
      `shipped module); model ${kb(run.modelBytes)} B (budget 300 KB); peak linear memory ` +
      `${(run.peakLinear / 2 ** 20).toFixed(1)} MiB; cold start (compile + instantiate + model load and checksum, ` +
      `median of 5 fresh processes) ${run.coldMs.toFixed(0)} ms, and ${run.importMs.toFixed(0)} ms before it to import ` +
      "the package's JS.",
    "",
    missed.length ? `**Not met in this run:** ${missed.join("; ")}.` : "Every budget is met in this run.",
  ]);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
