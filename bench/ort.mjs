// The same HR-S shapes in onnxruntime-web (wasm backend, one thread, the int8 graph made by
// bench/onnx/make_hrs_onnx.py), for the comparison in `npm run bench`. onnxruntime-web is a dev
// dependency; without it the comparison is skipped with a note.
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

/** Feeds for one forward: session tokens [l, 64], candidate tokens [n, 64], server scores [n]. */
export function ortFeeds(ort, n, l, random) {
  const fill = (len) => Float32Array.from({ length: len }, () => random() * 2 - 1);
  return {
    session: new ort.Tensor("float32", fill(l * 64), [l, 64]),
    cands: new ort.Tensor("float32", fill(n * 64), [n, 64]),
    server_score: new ort.Tensor("float32", fill(n), [n]),
  };
}

/** Times `session.run` like the homerank bench (warm-up, then p50/p90). */
export async function timeAsync(fn, warmupMs, measureMs) {
  let t0 = performance.now();
  while (performance.now() - t0 < warmupMs) await fn();
  const times = [];
  t0 = performance.now();
  while (performance.now() - t0 < measureMs || times.length < 10) {
    const s = performance.now();
    await fn();
    times.push(performance.now() - s);
  }
  times.sort((a, b) => a - b);
  const at = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  return { p50: at(0.5), p90: at(0.9), iters: times.length };
}
