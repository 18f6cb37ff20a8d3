// A bundled page using the package on the main thread and in a Worker (scripts/smoke-test.sh).
import { HomeRanker } from "homerank";
import { HomeRankerWorker } from "homerank/worker";
import page from "./example-page.json";

const out = document.getElementById("out");
try {
  const ranker = await HomeRanker.loadDefault();
  const first = page.shelves[0].items;
  const events = [
    { itemId: first[0].id, action: "skip", msPlayed: 2500 },
    { itemId: first[3].id, action: "complete", msPlayed: 210000 },
    { itemId: first[3].id, action: "like" },
  ];
  const before = ranker.rerank(page);
  ranker.observe(events);
  const after = ranker.rerank(page);
  const worker = await HomeRankerWorker.loadDefault();
  await worker.observe(events);
  const fromWorker = await worker.rerank(page);
  // Shelves may reorder: compare the first server shelf with the same shelf after reranking.
  const shelfOf = (r) => r.shelves.find((s) => s.id === page.shelves[0].id).items.map((i) => i.id);
  const result = {
    wasm: ranker.stats().wasm,
    serverOrder: before.shelves[0].items.map((i) => i.id),
    newOrder: shelfOf(after),
    workerOrder: shelfOf(fromWorker),
    fallback: after.fallback,
    eventsUsed: after.eventsUsed,
  };
  out.textContent = JSON.stringify(result);
  out.dataset.done = "ok";
  await worker.free();
} catch (e) {
  out.textContent = `error: ${e.code ?? ""} ${e.message}`;
  out.dataset.done = "error";
}
