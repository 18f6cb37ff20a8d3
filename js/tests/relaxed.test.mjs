// The relaxed-SIMD module (issue 14): chosen where the engine validates relaxed SIMD, its scores
// within a stated tolerance of the simd128 module's (its multiply-adds may be fused), the same
// order wherever two scores are further apart, and never chosen where the engine lacks it.
// Run: node --experimental-wasm-relaxed-simd --test js/tests/relaxed.test.mjs (after `npm run build`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { HomeRanker, relaxedSimdSupported } from "../node.js";
import { syntheticPage } from "../../bench/core.mjs";

/**
 * Largest |relaxed − simd| accepted on a score: the int16 kernels' own tolerance against f32
 * (tests/int16_kernels.rs), as a fused multiply-add can move a value across an int16 rounding
 * step and the difference then is of that order (measured: see the test's output).
 */
const TOLERANCE = 2e-3;

const scores = (result) => new Map(result.shelves.flatMap((s) => s.items.map((i) => [i.id, i.score])));

test("with relaxed SIMD the relaxed module is chosen, and relaxedSimd: false keeps simd128", async () => {
  assert.equal(relaxedSimdSupported(), true, "run with --experimental-wasm-relaxed-simd");
  const relaxed = await HomeRanker.loadDefault();
  const simd = await HomeRanker.loadDefault({ relaxedSimd: false });
  assert.equal(relaxed.stats().wasm, "relaxed");
  assert.equal(simd.stats().wasm, "simd");
  for (const [n, l, seed] of [[7, 3, 1], [50, 16, 2], [200, 64, 3], [1000, 64, 4]]) {
    const { page, events } = syntheticPage(n, l, 32, seed);
    for (const r of [relaxed, simd]) r.observe(events);
    const options = { negativeFeedback: 0, dedup: false, reorderShelves: false };
    const [a, b] = [relaxed.rerank(page, options), simd.rerank(page, options)];
    assert.equal(a.fallback, null);
    const [sa, sb] = [scores(a), scores(b)];
    let worst = 0;
    for (const [id, v] of sb) worst = Math.max(worst, Math.abs(sa.get(id) - v));
    console.log(`n=${n} l=${l}: max |relaxed − simd| = ${worst.toExponential(2)}`);
    assert.ok(worst <= TOLERANCE, `n=${n}: ${worst}`);
    const ids = [...sb.keys()];
    for (const x of ids) {
      for (const y of ids) {
        if (sb.get(x) - sb.get(y) > 2 * TOLERANCE) assert.ok(sa.get(x) > sa.get(y), `n=${n}: ${x} and ${y} swapped`);
      }
    }
    for (const r of [relaxed, simd]) r.forget();
  }
  relaxed.free();
  simd.free();
});

test("without relaxed SIMD (Node's default) the simd module is chosen", () => {
  const script = `import(${JSON.stringify(new URL("../node.js", import.meta.url).href)}).then(async (m) => {
    const r = await m.HomeRanker.loadDefault();
    console.log(JSON.stringify({ supported: m.relaxedSimdSupported(), wasm: r.stats().wasm }));
  });`;
  const out = JSON.parse(execFileSync(process.execPath, ["-e", script], { encoding: "utf8" }));
  assert.deepEqual(out, { supported: false, wasm: "simd" });
});
