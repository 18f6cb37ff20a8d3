// The same HR-S shapes in onnxruntime-web in Node (wasm backend, one thread, the int8 graph made
// by bench/onnx/make_hrs_onnx.py), for the comparison in `npm run bench`. onnxruntime-web is a
// dev dependency; without it the comparison is skipped with a note. Its inputs: core.mjs.
import { readFileSync } from "node:fs";

const MODEL = new URL("./onnx/hr-s-core-int8.onnx", import.meta.url);

/** An onnxruntime-web session on the int8 graph, or `null` (with the reason) when unavailable. */
export async function ortSession() {
  let ort;
  try {
    ort = await import("onnxruntime-web");
  } catch (e) {
    return { session: null, reason: `onnxruntime-web is not installed (${e.code ?? e.message})` };
  }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const session = await ort.InferenceSession.create(readFileSync(MODEL), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return { ort, session, version: ort.env.versions?.web ?? "?" };
}
