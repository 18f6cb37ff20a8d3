// The layout lab through the package in Node: the demo's wasm module reproduces the report the
// CLI wrote for the fixture (tests/fixtures/layout-lab, see tests/layout_lab.rs), runs in
// batches, and refuses bad input with a coded error.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createLayoutLab } from "../node.js";

const fixture = (f) => JSON.parse(readFileSync(new URL(`../../tests/fixtures/layout-lab/${f}`, import.meta.url), "utf8"));

test("the wasm lab gives exactly the CLI's report for the fixture", async () => {
  const lab = await createLayoutLab(fixture("a.json"), fixture("b.json"), fixture("population.json"));
  assert.equal(lab.total, 40);
  let calls = 0;
  while (lab.run(7) < lab.total) calls++;
  assert.equal(calls, 5, "40 listeners in batches of 7");
  assert.deepEqual(lab.report(), fixture("report.json"));
  assert.match(lab.csv(), /^scope,metric,a,b,diff,lo,hi\nall,playsPerSession,/);
  lab.free();
  assert.throws(() => lab.report(), { code: "FREED" });
});

test("bad layouts, populations and models are refused with a code", async () => {
  await assert.rejects(createLayoutLab({ shelves: 0 }, {}, {}), { code: "INVALID_ARGUMENT", message: /layout A/ });
  await assert.rejects(createLayoutLab({}, { template: "masonry" }, {}), { code: "INVALID_ARGUMENT", message: /layoutB.*masonry/ });
  await assert.rejects(createLayoutLab({}, {}, { listners: 3 }), { code: "INVALID_ARGUMENT", message: /listners/ });
  await assert.rejects(createLayoutLab({}, {}, {}, { model: new Uint8Array(16) }), { code: "INVALID_MODEL" });
});
