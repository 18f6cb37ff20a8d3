// The README's experiment example, run as-is by the package smoke test (scripts/smoke-test.sh).
import { readFile } from "node:fs/promises";
import { HomeRanker } from "homerank";

const page = JSON.parse(await readFile(new URL("./example-page.json", import.meta.url), "utf8"));
const ranker = await HomeRanker.loadDefault();

ranker.setExperiment({
  id: "home-rerank-1",
  salt: "2026-12",            // a new salt reshuffles every unit
  unitId: "listener-42",      // stays on the device: results carry only its hash
  arms: [
    { name: "control", weight: 1, holdback: true },                    // exactly the server's order
    { name: "treatment", weight: 1, options: { maxArtistRun: 2 } },   // the arm's options win
  ],
  // killed: true,            // the kill switch: every unit gets the server's order
});
ranker.observe({ itemId: page.shelves[0].items[0].id, action: "skip", msPlayed: 2500 });
const result = ranker.rerank(page);       // result.experiment: { id, arm, bucket, unitHash }

// Once the page is actually on screen, the host logs this record (homerank sends nothing):
const exposure = ranker.exposure(result); // { experiment, arm, unitHash, modelId, backend, pageId, timeMs }
console.log(JSON.stringify({ arm: result.experiment.arm, bucket: result.experiment.bucket, exposure }));
ranker.free();
