// Runs inside a Web Worker: one HomeRanker, driven by messages from worker-client.js.
// Message in: { id, method, args }; out: { id, result } or { id, error: { message, code } }.
// Every failure is answered with a code (the package's `ErrorCode` union).
import { HomeRanker } from "./index.js";
import { messageOf } from "./boundary.js";

let ranker = null;
/** Pages prepared in this worker (`prepare`), by the id the client holds. */
const prepared = new Map();
let nextPrepared = 1;

function freePrepared() {
  for (const page of prepared.values()) page.free();
  prepared.clear();
}

function preparedPage(id) {
  const page = prepared.get(id);
  if (!page) throw Object.assign(new Error("homerank: this prepared page was freed; prepare the page again"), { code: "FREED" });
  return page;
}

const methods = {
  async load([bytes, options]) {
    freePrepared();
    ranker?.free();
    ranker = null;
    ranker = bytes ? await HomeRanker.load(bytes, options) : await HomeRanker.loadDefault(options);
    return { modelId: ranker.modelId, embeddingDim: ranker.embeddingDim };
  },
  observe: ([events]) => ranker.observe(events),
  // rerankAsync: on the CPU it is rerank; with `backend: "gpu" | "auto"` it can await WebGPU.
  rerank: ([page, options]) => ranker.rerankAsync(page, options),
  prepare([page]) {
    const handle = ranker.prepare(page);
    const id = nextPrepared++;
    prepared.set(id, handle);
    return { id, pageId: handle.pageId, items: handle.items };
  },
  rerankPrepared: ([id, options]) => ranker.rerankAsync(preparedPage(id), options),
  freePrepared([id]) {
    prepared.get(id)?.free();
    prepared.delete(id);
  },
  setExperiment: ([experiment]) => ranker.setExperiment(experiment),
  assignment: () => ranker.assignment(),
  exposure: ([result, timeMs]) => ranker.exposure(result, timeMs),
  forget: () => ranker.forget(),
  stats: () => ranker.stats(),
  free() {
    freePrepared();
    ranker?.free();
    ranker = null;
  },
};

function codeOf(e) {
  try {
    return typeof e?.code === "string" ? e.code : "INTERNAL";
  } catch {
    return "INTERNAL";
  }
}

self.onmessage = async ({ data }) => {
  const id = data?.id;
  try {
    const method = data?.method;
    if (typeof method !== "string" || !Object.hasOwn(methods, method)) {
      throw Object.assign(new Error(`homerank worker: unknown method ${JSON.stringify(String(method))}`), { code: "WORKER" });
    }
    if (!ranker && method !== "load") {
      throw Object.assign(new Error("homerank worker: no model is loaded"), { code: "NOT_LOADED" });
    }
    const result = await methods[method](Array.isArray(data.args) ? data.args : []);
    self.postMessage({ id, result });
  } catch (e) {
    self.postMessage({ id, error: { message: messageOf(e), code: codeOf(e) } });
  }
};
