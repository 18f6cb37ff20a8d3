// The bad-input suite through the JS API (Node, the built package): every case throws an Error
// with a `code` naming the problem, or returns the exact server order with `fallback` set.
// Run: node --test js/tests/ (after `npm run build`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { HomeRanker } from "../node.js";
import { DEFAULT_MODEL } from "../default-model.js";
import { syntheticPage } from "../../bench/core.mjs";

const ranker = await HomeRanker.loadDefault();
const fresh = () => structuredClone(syntheticPage(60, 8).page);
const serverOrder = (page) => page.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);
const resultOrder = (r) => r.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);

function withEvents() {
  ranker.forget();
  ranker.observe(syntheticPage(60, 8).events);
}

function throwsCode(fn, code, text) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, "an Error");
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });
}

test("pages of the wrong shape throw INVALID_JSON naming the field", () => {
  withEvents();
  const cases = [
    [null, /invalid page JSON/],
    ["a string", /invalid page JSON/],
    [42, /invalid page JSON/],
    [[], /invalid page JSON/],
    [{ shelves: [] }, /embeddingDim/],
    [{ embeddingDim: 32 }, /shelves/],
    [{ embeddingDim: "32", shelves: [] }, /invalid page JSON/],
    [{ embeddingDim: 32, shelves: [{ id: "a", items: [{ id: "x", embedding: "0,1" }] }] }, /invalid page JSON/],
    [{ embeddingDim: 32, shelves: [{ id: "a", items: [{ id: 7, embedding: [] }] }] }, /invalid page JSON/],
    [{ embeddingDim: 32, shelves: [{ id: "a", items: [{ embedding: [] }] }] }, /`id`/],
  ];
  for (const [page, text] of cases) throwsCode(() => ranker.rerank(page), "INVALID_JSON", text);
});

test("invalid pages fall back to the exact server order", () => {
  withEvents();
  const edits = [
    ["NaN embedding", (p) => (p.shelves[0].items[0].embedding[3] = NaN), /embedding\[3\] is NaN/, "INVALID_PAGE"],
    ["Infinity server score", (p) => (p.shelves[0].items[1].serverScore = Infinity), /serverScore is inf/, "INVALID_PAGE"],
    ["short embedding", (p) => p.shelves[1].items[2].embedding.pop(), /has 31/, "EMBEDDING_DIM"],
    ["duplicate ids", (p) => (p.shelves[0].items[1].id = p.shelves[0].items[0].id), /appears twice/, "INVALID_PAGE"],
    ["wrong embeddingDim", (p) => (p.embeddingDim = 16), /embeddingDim/, "EMBEDDING_DIM"],
    ["no shelves", (p) => (p.shelves = []), /no shelves/, "INVALID_PAGE"],
  ];
  for (const [name, edit, reason, strictCode] of edits) {
    const page = fresh();
    edit(page);
    const r = ranker.rerank(page);
    assert.deepEqual(resultOrder(r), serverOrder(page), name);
    assert.match(r.fallback, reason, name);
    throwsCode(() => ranker.rerank(page, { strict: true }), strictCode, reason);
  }
});

test("50,000 items fall back; Float32Array embeddings and unknown fields are accepted", () => {
  withEvents();
  const big = syntheticPage(50_000, 0).page;
  const r = ranker.rerank(big);
  assert.match(r.fallback, /50000 items/);
  assert.equal(r.shelves.reduce((n, s) => n + s.items.length, 0), 50_000);
  const page = fresh();
  for (const s of page.shelves) for (const i of s.items) i.embedding = Float32Array.from(i.embedding);
  page.shelves[0].somethingNew = { nested: true };
  const ok = ranker.rerank(page);
  assert.equal(ok.fallback, null);
  assert.ok(ok.eventsUsed > 0);
});

test("bad events throw and leave the session as it was", () => {
  withEvents();
  const before = ranker.stats().eventsHeld;
  const cases = [
    [{ itemId: "a", action: "teleport" }, "INVALID_JSON", /teleport/],
    [{ itemId: "a" }, "INVALID_JSON", /action/],
    [{ action: "play" }, "INVALID_JSON", /itemId/],
    [{ itemId: "a", action: "play", msPlayed: -1 }, "INVALID_EVENT", /msPlayed is -1/],
    [{ itemId: "a", action: "play", msPlayed: NaN }, "INVALID_EVENT", /msPlayed is NaN/],
    [{ itemId: "", action: "play" }, "INVALID_EVENT", /itemId is empty/],
    [{ itemId: "a", action: "like", embedding: [1, 2] }, "EMBEDDING_DIM", /has 2/],
    [[{ itemId: "a", action: "play" }, { itemId: "b", action: "nope" }], "INVALID_JSON", /nope/],
    ["skip", "INVALID_JSON", /invalid event JSON/],
  ];
  for (const [events, code, text] of cases) throwsCode(() => ranker.observe(events), code, text);
  assert.equal(ranker.stats().eventsHeld, before);
  const flood = Array.from({ length: 10_000 }, (_, i) => ({ itemId: `x${i}`, action: "dwell" }));
  assert.equal(ranker.observe(flood), 10_000);
  assert.equal(ranker.stats().eventsHeld, 64);
});

test("bad options and bad model bytes throw typed errors", async () => {
  withEvents();
  throwsCode(() => ranker.rerank(fresh(), { dedupe: true }), "INVALID_JSON", /unknown field `dedupe`/);
  throwsCode(() => ranker.rerank(fresh(), { maxArtistRun: 0 }), "INVALID_OPTIONS", /maxArtistRun/);
  const good = readFileSync(new URL(`../../models/${DEFAULT_MODEL.file}`, import.meta.url));
  const flipped = Uint8Array.from(good);
  flipped[flipped.length - 1000] ^= 1;
  const cases = [
    [new Uint8Array(0), "INVALID_MODEL"],
    [good.subarray(0, 1000), "INVALID_MODEL"],
    [flipped, "MODEL_CHECKSUM"],
  ];
  for (const [bytes, code] of cases) {
    await assert.rejects(HomeRanker.load(bytes), (e) => e.code === code);
  }
  await assert.rejects(HomeRanker.load(good, { sha256: "0".repeat(64) }), (e) => e.code === "MODEL_CHECKSUM");
  await assert.rejects(HomeRanker.load("not bytes"), (e) => e.code === "INVALID_MODEL");
});
