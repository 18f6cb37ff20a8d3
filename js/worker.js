// Runs inside a Web Worker: one HomeRanker, driven by messages from worker-client.js.
// Message in: { id, method, args }; out: { id, result } or { id, error: { message, code } }.
import { HomeRanker } from "./index.js";

let ranker = null;

const methods = {
  async load([bytes, options]) {
    ranker?.free();
    ranker = bytes ? await HomeRanker.load(bytes, options) : await HomeRanker.loadDefault(options);
    return { modelId: ranker.modelId, embeddingDim: ranker.embeddingDim };
  },
  observe: ([events]) => ranker.observe(events),
  // rerankAsync: on the CPU it is rerank; with `backend: "gpu" | "auto"` it can await WebGPU.
  rerank: ([page, options]) => ranker.rerankAsync(page, options),
  forget: () => ranker.forget(),
  stats: () => ranker.stats(),
  free() {
    ranker?.free();
    ranker = null;
  },
};

self.onmessage = async ({ data: { id, method, args } }) => {
  try {
    if (!ranker && method !== "load") throw Object.assign(new Error("homerank worker: no model loaded"), { code: "NOT_LOADED" });
    const result = await methods[method](args ?? []);
    self.postMessage({ id, result });
  } catch (e) {
    self.postMessage({ id, error: { message: e.message, code: e.code ?? "WORKER" } });
  }
};
