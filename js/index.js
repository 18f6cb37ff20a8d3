// Browser (and bundler) entry of the homerank package.
import { createLayoutLabWith, createSimulatorWith, initWasm, makeHomeRanker, simdSupported, webGpuAvailable } from "./ranker.js";

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
  wasmSource: (flavour) => new URL(`../pkg/${flavour}/homerank_bg.wasm`, import.meta.url),
  modelBytes: (file, size, onProgress) => fetchBytes(new URL(`../models/${file}`, import.meta.url), size, onProgress),
};

export const HomeRanker = makeHomeRanker(browser);
export { simdSupported, webGpuAvailable };
export const init = (options) => initWasm(browser, options).then(({ flavour }) => flavour);
export const createSimulator = (catalogSeed, personaSeed, options) => createSimulatorWith(browser, catalogSeed, personaSeed, options);
export const createLayoutLab = (a, b, population, options) => createLayoutLabWith(browser, a, b, population, options);
export { indexedDbStore, memoryStore } from "./stores.js";
