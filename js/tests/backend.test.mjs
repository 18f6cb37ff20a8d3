// The backend option through the JS API in Node (no WebGPU there): "gpu" and "auto" load the
// simd module, score on the CPU and say why; rerankAsync gives rerank's answer. The WebGPU
// module itself is tested in headless Chromium (wasm-tests/tests/gpu.rs).
// Run: node --test js/tests/ (after `npm run build`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { HomeRanker, webGpuAvailable } from "../node.js";
import { syntheticPage } from "../../bench/core.mjs";

const order = (r) => r.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);

test("Node has no WebGPU", () => {
  assert.equal(webGpuAvailable(), false);
});

test("backend gpu without WebGPU: the CPU scores, the result and stats say why", async () => {
  const { page, events } = syntheticPage(40, 8);
  const gpu = await HomeRanker.loadDefault({ backend: "gpu" });
  const cpu = await HomeRanker.loadDefault();
  gpu.observe(events);
  cpu.observe(events);
  const g = await gpu.rerankAsync(page);
  const c = cpu.rerank(page);
  assert.equal(g.backend, "cpu-simd");
  assert.match(g.backendFallback, /GPU backend/);
  assert.match(g.backendFallback, /navigator\.gpu/);
  assert.match(g.backendFallback, /not enabled/);
  assert.equal(g.fallback, null);
  assert.equal(c.backendFallback, undefined);
  assert.deepEqual(order(g), order(c));
  const stats = gpu.stats();
  assert.equal(stats.backendSetting, "gpu");
  assert.equal(stats.wasm, "simd");
  assert.equal(stats.gpuAdapter, null);
  assert.match(stats.gpuError, /navigator\.gpu/);
});

test("auto without WebGPU is the CPU, with nothing to report", async () => {
  const { page, events } = syntheticPage(20, 4);
  const r = await HomeRanker.loadDefault({ backend: "auto" });
  r.observe(events);
  const result = await r.rerankAsync(page, { dedup: false });
  assert.equal(result.backend, "cpu-simd");
  assert.equal(result.backendFallback, undefined);
  assert.deepEqual(r.stats().autoChoices, []);
});

test("an unknown backend is refused with INVALID_OPTIONS", async () => {
  const r = await HomeRanker.loadDefault();
  assert.throws(() => r.setBackend("tpu"), (e) => e.code === "INVALID_OPTIONS" && /auto, cpu or gpu/.test(e.message));
});

test("rerankAsync refuses bad options like rerank", async () => {
  const r = await HomeRanker.loadDefault();
  assert.throws(() => r.rerankAsync(syntheticPage(5, 2).page, { nope: 1 }), (e) => e.code === "INVALID_JSON");
});
