// Experiments through the JS package (issue 15): the documented assignment (the same buckets as
// the Rust tests), stickiness across a reload, holdback = the server's order exactly, the kill
// switch, exposure records, bad experiment objects (an Error with a `code`, the ranker keeps
// working) and the worker. Run: node --test js/tests/experiment.test.mjs (after `npm run build`).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { HomeRanker } from "../node.js";
import { HomeRankerWorker } from "../worker-client.js";
import { syntheticPage } from "../../bench/core.mjs";
import { NodeWebWorker } from "./node-worker.mjs";

const { page: PAGE, events: EVENTS } = syntheticPage(60, 8);
const ranker = await HomeRanker.loadDefault();
const serverOrder = (page) => page.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);
const resultOrder = (r) => r.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);

const exp = (over = {}) => ({
  id: "home-rerank-1",
  salt: "2026-12",
  unitId: "listener-42",
  arms: [{ name: "control", weight: 1 }, { name: "treatment", weight: 1 }],
  ...over,
});

function withEvents(r = ranker) {
  r.forget();
  r.observe(EVENTS);
}

function throwsCode(fn, code, text) {
  let err;
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, "an Error");
    assert.equal(e.code, code, e.message);
    if (text) assert.match(e.message, text);
    err = e;
    return true;
  });
  return err;
}

test("the documented hash: listener-42 is in bucket 8166 (treatment), as in Rust; sticky across a reload", async () => {
  ranker.setExperiment(exp());
  const want = { id: "home-rerank-1", arm: "treatment", bucket: 8166, unitHash: "ad27901b3ccb08a455a7cd97f2136318" };
  assert.deepEqual(ranker.assignment(), want);
  // A reload: a new ranker, the experiment from JSON again.
  const again = await HomeRanker.loadDefault();
  again.setExperiment(JSON.parse(JSON.stringify(exp())));
  assert.deepEqual(again.assignment(), want);
  withEvents(again);
  const r = again.rerank(PAGE);
  assert.deepEqual(r.experiment, want);
  assert.equal(r.fallback, null);
  again.free();
  // Without a salt, the id is the salt.
  ranker.setExperiment(exp({ salt: undefined }));
  assert.equal(ranker.assignment().unitHash.length, 32);
  assert.notEqual(ranker.assignment().unitHash, want.unitHash);
  ranker.setExperiment(null);
  assert.equal(ranker.assignment(), null);
});

test("a holdback arm returns exactly the server's order, with events held", () => {
  withEvents();
  ranker.setExperiment(null);
  const live = ranker.rerank(PAGE);
  assert.notDeepEqual(resultOrder(live), serverOrder(PAGE), "the events move something");
  assert.equal("experiment" in live, false, "no experiment: no key");
  ranker.setExperiment(exp({ arms: [{ name: "holdback", weight: 1, holdback: true }] }));
  for (const options of [undefined, { dedup: false, strict: true }]) {
    const r = ranker.rerank(PAGE, options);
    assert.deepEqual(resultOrder(r), serverOrder(PAGE));
    assert.deepEqual(r.removed, []);
    assert.equal(r.backend, "none");
    assert.equal(r.fallback, null);
    assert.ok(r.shelves.every((s, i) => s.newRank === i && s.items.every((it, j) => it.score === null && it.newRank === j)));
    assert.equal(r.experiment.arm, "holdback");
  }
});

test("the kill switch: every unit gets the server's order, the result says so, exposure() is null", async () => {
  withEvents();
  ranker.setExperiment(exp({ arms: [{ name: "treatment", weight: 1 }] }));
  const live = ranker.rerank(PAGE);
  assert.notDeepEqual(resultOrder(live), serverOrder(PAGE));
  assert.ok(ranker.exposure(live));
  for (let i = 0; i < 20; i++) {
    ranker.setExperiment(exp({ unitId: `u${i}`, killed: true, arms: [{ name: "a", weight: 1 }, { name: "b", weight: 2 }] }));
    const r = ranker.rerank(PAGE);
    assert.deepEqual(resultOrder(r), serverOrder(PAGE));
    assert.equal(r.experiment.killed, true);
    assert.equal(ranker.exposure(r), null);
    const asyncR = await ranker.rerankAsync(PAGE);
    assert.deepEqual(resultOrder(asyncR), serverOrder(PAGE));
  }
});

test("arm options override the call's; an arm for another model falls back with a reason", () => {
  withEvents();
  ranker.setExperiment(exp({ arms: [{ name: "keep", weight: 1, options: { reorderShelves: false } }] }));
  const r = ranker.rerank(PAGE, { reorderShelves: true });
  assert.ok(r.shelves.every((s) => s.newRank === s.serverRank));
  ranker.setExperiment(exp({ arms: [{ name: "m", weight: 1, model: "homerank-m" }] }));
  const m = ranker.rerank(PAGE);
  assert.deepEqual(resultOrder(m), serverOrder(PAGE));
  assert.match(m.fallback, /expects model 'homerank-m'/);
  const name = ranker.modelId.split("@")[0];
  ranker.setExperiment(exp({ arms: [{ name: "m", weight: 1, model: name }] }));
  assert.equal(ranker.rerank(PAGE).fallback, null);
});

test("exposure(result): the record to log, the unit id never in it", () => {
  withEvents();
  ranker.setExperiment(exp({ unitId: "device-secret-123" }));
  const r = ranker.rerank(PAGE);
  const before = Date.now();
  const x = ranker.exposure(r);
  const { timeMs, ...rest } = x;
  assert.ok(timeMs >= before && timeMs <= Date.now(), "Date.now() by default");
  assert.deepEqual(rest, {
    experiment: "home-rerank-1",
    arm: r.experiment.arm,
    unitHash: r.experiment.unitHash,
    modelId: ranker.modelId,
    backend: r.backend,
    pageId: PAGE.pageId ?? "",
  });
  assert.equal(ranker.exposure(r, 1234).timeMs, 1234);
  // A result that went through JSON (or the worker) works the same.
  assert.deepEqual(ranker.exposure(JSON.parse(JSON.stringify(r)), 1234), ranker.exposure(r, 1234));
  assert.ok(!JSON.stringify(r).includes("secret") && !JSON.stringify(x).includes("secret"));
  assert.ok(!JSON.stringify(ranker.assignment()).includes("secret"));
  throwsCode(() => ranker.exposure(r, "now"), "INVALID_ARGUMENT", /timeMs: expected a number/);
  throwsCode(() => ranker.exposure(r, NaN), "INVALID_ARGUMENT", /finite/);
  throwsCode(() => ranker.exposure({}), "INVALID_ARGUMENT", /result/);
  throwsCode(() => ranker.exposure(null), "INVALID_ARGUMENT", /result/);
  ranker.setExperiment(null);
  assert.equal(ranker.exposure(ranker.rerank(PAGE)), null);
});

test("a bad experiment object throws INVALID_EXPERIMENT, keeps the one before, and the ranker keeps working", () => {
  withEvents();
  const good = exp();
  ranker.setExperiment(good);
  const before = ranker.assignment();
  const long = "x".repeat(200_000);
  const thrower = exp();
  Object.defineProperty(thrower, "unitId", { get: () => { throw new Error("boom"); }, enumerable: true });
  const cases = [
    [42, /expected an object/],
    ["exp", /expected an object/],
    [[], /expected an object/],
    [{}, /id/],
    [exp({ arms: [] }), /arms is empty/],
    [exp({ arms: [{ name: "a", weight: 0 }, { name: "b", weight: 0 }] }), /arms\[0\]\.weight must be a finite number > 0, got 0/],
    [exp({ arms: [{ name: "a", weight: -1 }] }), /weight/],
    [exp({ arms: [{ name: "a", weight: NaN }] }), /got NaN/],
    [exp({ arms: [{ name: "a", weight: Infinity }] }), /got inf/],
    [exp({ arms: [{ name: "a", weight: "1" }] }), /arms\[0\]\.weight: expected a number/],
    [exp({ arms: [{ name: "a", weight: 1 }, { name: "a", weight: 1 }] }), /arms\[1\]\.name 'a' is also the name of arms\[0\]/],
    [exp({ id: "" }), /id is empty/],
    [exp({ unitId: "" }), /unitId is empty/],
    [exp({ unitId: 7 }), /unitId: expected a string/],
    // Over-long: refused by the ranker (> 512 bytes), or before being copied at all (> 65,536 units).
    [exp({ unitId: "u".repeat(1_000) }), /unitId is 1000 bytes long, at most 512/],
    [exp({ unitId: long }), /unitId: a string of 200000 UTF-16 code units/],
    [exp({ arms: [{ name: "n".repeat(600), weight: 1 }] }), /arms\[0\]\.name is 600 bytes long/],
    [exp({ arms: [{ name: long, weight: 1 }] }), /arms\[0\]\.name: a string of 200000/],
    [exp({ typo: true }), /unknown field `typo`/],
    [exp({ arms: [{ name: "a", weight: 1, options: { strict: true } }] }), /unknown field `strict`/],
    [exp({ arms: [{ name: "a", weight: 1, options: { shelfAggregateTopK: 0 } }] }), /shelfAggregateTopK/],
    [exp({ killed: "yes" }), /killed: expected true or false/],
    [thrower, /unitId: reading it threw an exception: "boom"/],
  ];
  for (const [bad, text] of cases) {
    const e = throwsCode(() => ranker.setExperiment(bad), "INVALID_EXPERIMENT", text);
    assert.ok(e.message.length < 500, `the message caps what it echoes (${e.message.length})`);
    assert.deepEqual(ranker.assignment(), before);
    const r = ranker.rerank(PAGE);
    assert.equal(r.fallback, null);
    assert.deepEqual(r.experiment, before);
  }
});

test("the worker: setExperiment, assignment and exposure", async () => {
  const worker = new NodeWebWorker();
  after(() => worker.terminate());
  const w = await HomeRankerWorker.loadDefault({ worker });
  await w.setExperiment(exp());
  ranker.setExperiment(exp());
  assert.deepEqual(await w.assignment(), ranker.assignment());
  await w.observe(EVENTS);
  const r = await w.rerank(PAGE);
  assert.deepEqual(r.experiment, ranker.assignment());
  const x = await w.exposure(r, 99);
  assert.equal(x.timeMs, 99);
  assert.equal(x.arm, "treatment");
  await assert.rejects(w.setExperiment(exp({ arms: [] })), (e) => e.code === "INVALID_EXPERIMENT");
  assert.deepEqual(await w.assignment(), ranker.assignment());
  await w.setExperiment(null);
  assert.equal(await w.assignment(), null);
  await w.free();
});
