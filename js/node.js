// Node entry of the homerank package: the same API, files read from the package directory.
import { readFile } from "node:fs/promises";
import {
  createLayoutLabWith, createSimulatorWith, initWasm, makeHomeRanker, relaxedSimdSupported, simdSupported, webGpuAvailable,
} from "./ranker.js";

const node = {
  // Only the flavour asked for is imported. Compiled here and instantiated with initSync: the
  // glue's async path tests `instanceof Response`, and touching that global makes Node load its
  // fetch implementation (undici), milliseconds of every cold start.
  instantiate: async (flavour) => {
    const [glue, bytes] = await Promise.all([
      import(`../pkg/${flavour}/homerank.js`),
      readFile(new URL(`../pkg/${flavour}/homerank_bg.wasm`, import.meta.url)),
    ]);
    const exports = glue.initSync({ module: await WebAssembly.compile(bytes) });
    return { glue, exports };
  },
  modelBytes: async (file, _size, onProgress) => {
    const bytes = await readFile(new URL(`../models/${file}`, import.meta.url));
    onProgress?.({ loaded: bytes.length, total: bytes.length });
    return bytes;
  },
};

export const HomeRanker = makeHomeRanker(node);
export { relaxedSimdSupported, simdSupported, webGpuAvailable };
export const init = (options) => initWasm(node, options).then(({ flavour }) => flavour);
export const createSimulator = (catalogSeed, personaSeed, options) => createSimulatorWith(node, catalogSeed, personaSeed, options);
export const createLayoutLab = (a, b, population, options) => createLayoutLabWith(node, a, b, population, options);
export { memoryStore } from "./stores.js";
export { fileStore } from "./file-store.js";
