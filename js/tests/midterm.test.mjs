// The mid-term context through the package in Node: off by default, kept across a "reload" by a
// store (the file adapter), a corrupt stored blob dropped with a reason (never a failed load or
// rerank), forget() wiping memory and store, and bad options refused with a code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HomeRanker, fileStore, memoryStore } from "../node.js";

const page = JSON.parse(readFileSync(new URL("../../www/example-page.json", import.meta.url), "utf8"));
const ids = page.shelves.flatMap((s) => s.items.map((i) => i.id));
const plays = (n) => Array.from({ length: n }, (_, k) => ({
  itemId: ids[(k * 5) % ids.length], action: k % 3 ? "complete" : "skip", msPlayed: k % 3 ? 180000 : 2000, timestampMs: Date.now() - (n - k) * 60000,
}));
const scores = (r) => r.shelves.flatMap((s) => s.items.map((i) => [i.id, i.score]));

test("off by default: ending a session keeps nothing", async () => {
  const r = await HomeRanker.loadDefault();
  r.rerank(page);
  r.observe(plays(5));
  await r.endSession();
  assert.equal(r.stats().midTermEvents, 0);
  assert.equal(r.stats().midTermProfile, "off");
  assert.equal(r.rerank(page).eventsUsed, 0);
  r.free();
});

test("a file store keeps the profile across a reload, and the next session starts from it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "homerank-profile-"));
  const first = await HomeRanker.loadDefault({ midTerm: { store: fileStore(dir) } });
  assert.equal(first.stats().midTermProfile, "none stored");
  first.rerank(page);
  first.observe(plays(7));
  const inSession = scores(first.rerank(page));
  await first.endSession();
  assert.deepEqual(readdirSync(dir), ["homerank-profile.hrmp"]);
  first.free();

  const reloaded = await HomeRanker.loadDefault({ midTerm: { store: fileStore(dir) } });
  assert.equal(reloaded.stats().midTermProfile, "restored 7 events");
  const next = reloaded.rerank(page);
  assert.equal(next.eventsUsed, 7);
  assert.deepEqual(scores(next), inSession, "the earlier session, read back exactly");
  assert.deepEqual([...reloaded.exportProfile().slice(0, 4)], [..."HRMP"].map((c) => c.charCodeAt(0)));

  await reloaded.forget();
  assert.deepEqual(readdirSync(dir), [], "forget() deletes the stored profile");
  assert.equal(reloaded.stats().midTermEvents, 0);
  assert.equal(reloaded.rerank(page).eventsUsed, 0);
  reloaded.free();
});

test("a corrupt or foreign stored blob is dropped with a reason; loading and reranking go on", async () => {
  const dir = mkdtempSync(join(tmpdir(), "homerank-profile-"));
  const store = fileStore(dir);
  const good = await HomeRanker.loadDefault({ midTerm: { store } });
  good.rerank(page);
  good.observe(plays(4));
  await good.endSession();
  good.free();
  const file = join(dir, "homerank-profile.hrmp");
  const bytes = readFileSync(file);
  bytes[30] ^= 0xff;
  writeFileSync(file, bytes);
  const r = await HomeRanker.loadDefault({ midTerm: { store } });
  assert.match(r.stats().midTermProfile, /^dropped the stored profile: .*checksum/);
  assert.deepEqual(readdirSync(dir), [], "the bad blob is deleted");
  assert.equal(r.rerank(page).fallback, null);
  writeFileSync(file, "{\"not\": \"a profile\"}");
  const again = await HomeRanker.loadDefault({ midTerm: { store } });
  assert.match(again.stats().midTermProfile, /not a homerank profile/);
  assert.throws(() => again.importProfile(new Uint8Array([1, 2, 3])), { code: "INVALID_PROFILE" });
  assert.throws(() => again.importProfile("HRMP"), { code: "INVALID_PROFILE" });
  r.free();
  again.free();
});

test("a stored profile past its TTL restores nothing; a memory store works the same way", async () => {
  const store = memoryStore();
  const r = await HomeRanker.loadDefault({ midTerm: { store, ttlDays: 1 } });
  r.rerank(page);
  r.observe(plays(3).map((e) => ({ ...e, timestampMs: Date.now() - 3 * 86400000 })));
  await r.endSession();
  assert.equal(r.stats().midTermEvents, 0, "three days old with a one-day TTL");
  r.observe(plays(3));
  await r.endSession();
  assert.equal(r.stats().midTermEvents, 3);
  const other = await HomeRanker.loadDefault({ midTerm: { store, events: 2 } });
  assert.equal(other.stats().midTermProfile, "restored 2 events", "the latest `events`");
  r.free();
  other.free();
});

test("bad midTerm options are refused with INVALID_OPTIONS", async () => {
  await assert.rejects(HomeRanker.loadDefault({ midTerm: { events: "48" } }), { code: "INVALID_OPTIONS", message: /midTerm.events/ });
  await assert.rejects(HomeRanker.loadDefault({ midTerm: { store: { get() {} } } }), { code: "INVALID_OPTIONS", message: /midTerm.store.set/ });
  await assert.rejects(HomeRanker.loadDefault({ midTerm: { events: -1 } }), { code: "INVALID_OPTIONS", message: /midTerm.events/ });
  await assert.rejects(HomeRanker.loadDefault({ midTerm: 5 }), { code: "INVALID_OPTIONS" });
});
