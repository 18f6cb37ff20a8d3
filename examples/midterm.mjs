// The README's mid-term profile example, run as-is by the package smoke test (scripts/smoke-test.sh).
import { readFile, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HomeRanker, fileStore } from "homerank";

const page = JSON.parse(await readFile(new URL("./example-page.json", import.meta.url), "utf8"));
const store = fileStore(await mkdtemp(join(tmpdir(), "homerank-"))); // in a browser: indexedDbStore()
const ids = page.shelves[0].items.map((i) => i.id);

// Off by default: the host opts in, and says where the profile lives.
const today = await HomeRanker.loadDefault({ midTerm: { store, events: 48, ttlDays: 7 } });
today.rerank(page);
today.observe([
  { itemId: ids[0], action: "complete", msPlayed: 200000, timestampMs: Date.now() - 120000 },
  { itemId: ids[1], action: "skip", msPlayed: 2000, timestampMs: Date.now() - 60000 },
]);
await today.endSession();                  // the session's events join the profile, saved to the store
today.free();

// The next visit (a reload, another day): Home is reranked from the earlier session at once.
const tomorrow = await HomeRanker.loadDefault({ midTerm: { store } });
const result = tomorrow.rerank(page);
console.log(JSON.stringify({ profile: tomorrow.stats().midTermProfile, eventsUsed: result.eventsUsed,
  bytes: tomorrow.exportProfile().length }));  // exportProfile(): the listener's own copy of what is kept
await tomorrow.forget();                   // wipes the session, the profile and the stored copy
tomorrow.free();
