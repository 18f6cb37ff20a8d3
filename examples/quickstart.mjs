// The README's quick start, run as-is by the package smoke test (scripts/smoke-test.sh).
import { readFile } from "node:fs/promises";
import { HomeRanker } from "homerank";

const page = JSON.parse(await readFile(new URL("./example-page.json", import.meta.url), "utf8"));
const ranker = await HomeRanker.loadDefault();

const before = ranker.rerank(page);                       // no events yet: the server's order
const firstShelf = page.shelves[0].items;
ranker.observe({ itemId: firstShelf[0].id, action: "skip", msPlayed: 2500 });
ranker.observe([
  { itemId: firstShelf[3].id, action: "complete", msPlayed: 210000 },
  { itemId: firstShelf[3].id, action: "like" },
]);
const after = ranker.rerank(page, { maxArtistRun: 2 });

console.log(JSON.stringify({
  modelId: ranker.modelId,
  backend: after.backend,
  fallbackBefore: before.fallback,
  fallbackAfter: after.fallback,
  eventsUsed: after.eventsUsed,
  serverOrder: before.shelves[0].items.map((i) => i.id),
  newOrder: after.shelves.find((s) => s.id === page.shelves[0].id).items.map((i) => i.id),
  elapsedMs: after.elapsedMs,
}));
ranker.free();
