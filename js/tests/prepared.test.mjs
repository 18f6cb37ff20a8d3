// Prepared pages (`HomeRanker.prepare`, issue 14): a page read into the wasm module once and
// reranked again and again gives exactly what reranking the page object gives, is a snapshot,
// frees like every wasm object, and fails the way `rerank` fails. Run after `npm run build`:
// node --test js/tests/prepared.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { HomeRanker } from "../node.js";
import { HomeRankerWorker } from "../worker-client.js";
import { NodeWebWorker } from "./node-worker.mjs";
import { syntheticPage } from "../../bench/core.mjs";

const PAGE = JSON.parse(readFileSync(new URL("../../www/example-page.json", import.meta.url), "utf8"));
const strip = ({ elapsedMs, ...rest }) => rest;
const ids = (p) => p.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);

function coded(fn, code, text) {
  assert.throws(fn, (e) => {
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    return true;
  });
}

test("a prepared page reranks exactly as the page object, event after event and with options", async () => {
  const ranker = await HomeRanker.loadDefault();
  const { page, events } = syntheticPage(200, 40);
  const prepared = ranker.prepare(page);
  assert.equal(prepared.pageId, page.pageId);
  assert.equal(prepared.items, 200);
  // No events: the server's page, as from the object.
  assert.deepEqual(strip(ranker.rerank(prepared)), strip(ranker.rerank(page)));
  for (const [k, event] of events.entries()) {
    ranker.observe(event);
    const options = k % 3 === 0 ? { maxArtistRun: 2, dedup: false } : undefined;
    const want = strip(ranker.rerank(page, options));
    assert.equal(want.fallback, null);
    assert.deepEqual(strip(ranker.rerank(prepared, options)), want);
  }
  // The async path resolves packed too (rerankPreparedAsync): the same objects, value for value.
  assert.deepStrictEqual(strip(await ranker.rerankAsync(prepared)), strip(await ranker.rerankAsync(page)));
  assert.deepStrictEqual(strip(await ranker.rerankAsync(prepared, { dedup: false })), strip(ranker.rerank(page, { dedup: false })));
  prepared.free();
  ranker.free();
});

test("a prepared page is a snapshot: changing the object afterwards does not reach it", async () => {
  const ranker = await HomeRanker.loadDefault();
  const page = structuredClone(PAGE);
  const prepared = ranker.prepare(page);
  const before = strip(ranker.rerank(prepared));
  page.shelves[0].items.reverse();
  page.shelves[0].items[0].serverScore = 99;
  assert.deepEqual(strip(ranker.rerank(prepared)), before);
  assert.deepEqual(ids(before), ids(PAGE));
  ranker.free();
});

test("prepare reads like rerank: an unreadable page throws, an invalid one falls back at rerank", async () => {
  const ranker = await HomeRanker.loadDefault();
  coded(() => ranker.prepare({ ...PAGE, shelves: "no" }), "INVALID_JSON", /shelves: expected an array, got the string "no"/);
  const bad = structuredClone(PAGE);
  bad.shelves[0].items[1].id = bad.shelves[0].items[0].id;
  const prepared = ranker.prepare(bad);
  ranker.observe({ itemId: PAGE.shelves[0].items[2].id, action: "skip", msPlayed: 2000 });
  const served = ranker.rerank(prepared);
  assert.match(served.fallback, /appears twice/);
  assert.deepEqual(ids(served), ids(bad));
  assert.deepEqual(strip(served), strip(ranker.rerank(bad)));
  coded(() => ranker.rerank(prepared, { strict: true }), "INVALID_PAGE", /appears twice/);
  ranker.free();
});

test("free: idempotent and FREED afterwards; a prepared page outlives its ranker, which reranks nothing once freed", async () => {
  const ranker = await HomeRanker.loadDefault();
  const prepared = ranker.prepare(PAGE);
  prepared.free();
  prepared.free();
  coded(() => ranker.rerank(prepared), "FREED", /prepared page was freed/);
  coded(() => prepared.pageId, "FREED");
  // Like every argument error of rerankAsync, thrown at the call (boundary.test.mjs, class 5).
  coded(() => ranker.rerankAsync(prepared), "FREED");
  const again = ranker.prepare(PAGE);
  ranker.free();
  coded(() => ranker.rerank(again), "FREED", /ranker was freed/);
  coded(() => ranker.prepare(PAGE), "FREED");
  assert.equal(again.items, PAGE.shelves.reduce((n, s) => n + s.items.length, 0));
  again.free();
});

test("the boundary: a revoked Proxy is not taken for a prepared page, and free() from a getter waits for the call", async () => {
  const ranker = await HomeRanker.loadDefault();
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  coded(() => ranker.rerank(proxy), "INVALID_JSON");
  coded(() => ranker.rerankAsync(proxy), "INVALID_JSON");
  const prepared = ranker.prepare(PAGE);
  ranker.observe({ itemId: PAGE.shelves[0].items[1].id, action: "skip", msPlayed: 1000 });
  const want = strip(ranker.rerank(PAGE));
  let freedInside = false;
  const options = {
    get dedup() {
      prepared.free();
      freedInside = true;
      return true;
    },
  };
  assert.deepEqual(strip(ranker.rerank(prepared, options)), want);
  assert.ok(freedInside);
  coded(() => ranker.rerank(prepared), "FREED");
  const throwing = ranker.prepare(PAGE);
  coded(() => ranker.rerank(throwing, { get dedup() { throw new Error("boom"); } }), "INVALID_JSON", /dedup: reading it threw/);
  assert.deepEqual(strip(ranker.rerank(throwing)), want);
  throwing.free();
  ranker.free();
});

test("a page prepared by a ranker of another wasm module is refused, not misread", async () => {
  const simd = await HomeRanker.loadDefault();
  const plain = await HomeRanker.loadDefault({ simd: false });
  assert.equal(plain.stats().wasm, "plain");
  const prepared = simd.prepare(PAGE);
  coded(() => plain.rerank(prepared), "INVALID_ARGUMENT", /another wasm module/);
  // The same module's other ranker is fine.
  const other = await HomeRanker.loadDefault();
  assert.deepEqual(strip(other.rerank(prepared)), strip(other.rerank(PAGE)));
  for (const r of [simd, plain, other]) r.free();
});

test("the worker client prepares in the worker and reranks by id", async () => {
  const w = await HomeRankerWorker.loadDefault({ worker: new NodeWebWorker() });
  const local = await HomeRanker.loadDefault();
  const event = { itemId: PAGE.shelves[1].items[0].id, action: "complete", msPlayed: 200000 };
  await w.observe(event);
  local.observe(event);
  const prepared = await w.prepare(PAGE);
  assert.equal(prepared.pageId, PAGE.pageId);
  assert.deepEqual(strip(await w.rerank(prepared)), strip(local.rerank(PAGE)));
  const other = await HomeRankerWorker.loadDefault({ worker: new NodeWebWorker() });
  await assert.rejects(other.rerank(prepared), (e) => e.code === "INVALID_ARGUMENT");
  prepared.free();
  prepared.free();
  await assert.rejects(w.rerank(prepared), (e) => e.code === "FREED");
  await assert.rejects(w.prepare({ shelves: 3 }), (e) => e.code === "INVALID_JSON");
  await Promise.all([w.free(), other.free()]);
  local.free();
});
