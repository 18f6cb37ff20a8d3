// Where a rerank's time goes, by wasm/JS function: `node --cpu-prof --cpu-prof-dir=DIR
// bench/profile.mjs [N] [L] [seconds]`, then `node bench/profile.mjs --summary DIR/*.cpuprofile`.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { syntheticPage } from "./core.mjs";

if (process.argv[2] === "--summary") {
  const prof = JSON.parse(readFileSync(process.argv[3], "utf8"));
  const self = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const counts = new Map();
  for (const s of prof.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let total = 0;
  for (const [id, c] of counts) {
    const n = byId.get(id);
    const name = `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").pop()}`;
    self.set(name, (self.get(name) ?? 0) + c);
    total += c;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[4] ?? 30));
  for (const [name, c] of rows) console.log(`${((100 * c) / total).toFixed(1).padStart(6)} %  ${name}`);
} else {
  const [n, l, seconds] = [Number(process.argv[2] ?? 200), Number(process.argv[3] ?? 64), Number(process.argv[4] ?? 6)];
  const { HomeRanker } = await import("../js/node.js");
  const ranker = await HomeRanker.loadDefault();
  const { page, events } = syntheticPage(n, l);
  ranker.observe(events);
  const t0 = performance.now();
  let calls = 0;
  while (performance.now() - t0 < seconds * 1000) {
    ranker.rerank(page);
    calls++;
  }
  console.log(`${calls} reranks of ${n}×${l}, ${((performance.now() - t0) / calls).toFixed(3)} ms each`);
}
