// Browser (and bundler) entry of the homerank package.
import {
  createLayoutLabWith, createSimulatorWith, initWasm, makeHomeRanker, relaxedSimdSupported, simdSupported, webGpuAvailable,
} from "./ranker.js";
// Every glue module is imported statically (they are small; only the chosen flavour's .wasm is
// ever fetched): a dynamic import would force bundlers into code splitting, which Vite's default
// (iife) worker format refuses.
import * as simdGlue from "../pkg/simd/homerank.js";
import * as relaxedGlue from "../pkg/relaxed/homerank.js";
import * as plainGlue from "../pkg/plain/homerank.js";
import * as webgpuGlue from "../pkg/webgpu/homerank.js";
// The demo's listener simulator and layout lab are their own module, so that the ranker's
// modules do not carry them.
import * as simGlue from "../pkg/sim/homerank.js";

const GLUE = { simd: simdGlue, relaxed: relaxedGlue, plain: plainGlue, webgpu: webgpuGlue, sim: simGlue };

async function fetchBytes(url, expected, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  if (!onProgress || !response.body) return new Uint8Array(await response.arrayBuffer());
  const total = Number(response.headers.get("content-length")) || expected || 0;
  const chunks = [];
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress({ loaded, total });
  }
  const out = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

const browser = {
  // The package's own files only: the wasm module and the default model, next to this file.
  // A URL: the glue fetches it and compiles while it downloads (instantiateStreaming).
  instantiate: async (flavour) => {
    const glue = GLUE[flavour];
    const exports = await glue.default({ module_or_path: new URL(`../pkg/${flavour}/homerank_bg.wasm`, import.meta.url) });
    return { glue, exports };
  },
  modelBytes: (file, size, onProgress) => fetchBytes(new URL(`../models/${file}`, import.meta.url), size, onProgress),
};

export const HomeRanker = makeHomeRanker(browser);
export { relaxedSimdSupported, simdSupported, webGpuAvailable };
export const init = (options) => initWasm(browser, options).then(({ flavour }) => flavour);
export const createSimulator = (catalogSeed, personaSeed, options) => createSimulatorWith(browser, catalogSeed, personaSeed, options);
export const createLayoutLab = (a, b, population, options) => createLayoutLabWith(browser, a, b, population, options);
export { indexedDbStore, memoryStore } from "./stores.js";
