// The JS boundary never wedges a ranker (issue 13): hostile objects, wrong types, use after free,
// a dead worker. Every case asserts an Error with a `code` (or a result with exactly the input
// items), then that the same ranker still reranks a good page exactly, then that 1,000 more
// repetitions of the failing input do not grow linear memory.
// Run: node --test js/tests/ (after `npm run build`). HOMERANK_BOUNDARY_REPS=100 for a quick run.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { HomeRanker, createSimulator } from "../node.js";
import { HomeRankerWorker } from "../worker-client.js";
import { DEFAULT_MODEL } from "../default-model.js";
import * as simdGlue from "../../pkg/simd/homerank.js";
import { NodeWebWorker as Worker } from "./node-worker.mjs";

const REPS = Number(process.env.HOMERANK_BOUNDARY_REPS ?? 1000);
const PAGE = JSON.parse(readFileSync(new URL("../../www/example-page.json", import.meta.url), "utf8"));
const MODEL = readFileSync(new URL(`../../models/${DEFAULT_MODEL.file}`, import.meta.url));

const page = () => structuredClone(PAGE);
const pageIds = (p) => p.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);
const resultIds = (r) => r.shelves.map((s) => [s.id, s.items.map((i) => i.id)]);
const strip = ({ elapsedMs, ...rest }) => rest;
const boom = () => {
  throw new Error("boom");
};
function getter(obj, key, get) {
  Object.defineProperty(obj, key, { get, enumerable: true, configurable: true });
  return obj;
}

const ranker = await HomeRanker.loadDefault();
ranker.forget();
const REFERENCE = strip(ranker.rerank(PAGE));
const memory = () => ranker.stats().linearMemoryBytes;
const seenCodes = new Set();

/** `fn` throws an Error with `code` (and a message matching `text`); returns it. */
function coded(fn, code, text) {
  let caught;
  assert.throws(fn, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof Error, `an Error, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (text) assert.match(caught.message, text);
  seenCodes.add(caught.code);
  return caught;
}

async function rejectsCoded(promise, code, text) {
  let caught;
  await assert.rejects(promise, (e) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof Error, `an Error, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (text) assert.match(caught.message, text);
  seenCodes.add(caught.code);
  return caught;
}

/** The ranker reranks the example page exactly as before (no events held). */
function stillGood(r = ranker) {
  r.forget();
  assert.deepEqual(strip(r.rerank(PAGE)), REFERENCE);
}

/** Linear memory does not grow over `reps` more calls of `fn` (after two to warm up). */
function noGrowth(name, fn, reps = REPS, mem = memory) {
  fn();
  fn();
  const before = mem();
  for (let i = 0; i < reps; i++) fn();
  assert.equal(mem(), before, `${name}: linear memory grew over ${reps} repetitions`);
}

/** A failing call: its code and text, the ranker still good, no growth. */
function failing(name, fn, code, text, r = ranker) {
  coded(fn, code, text);
  stillGood(r);
  noGrowth(name, () => coded(fn, code));
  stillGood(r);
}

// === 1. Throwing getters, Proxy traps, revoked Proxies (and 2., re-entrant calls) ===

test("1. a throwing getter or trap is INVALID_JSON naming where; the ranker is not wedged", () => {
  const cases = [
    ["the issue's reproducer: a getter on an item", () => {
      const p = page();
      getter(p.shelves[0].items[0], "serverScore", boom);
      return ranker.rerank(p);
    }, /^invalid page JSON: shelves\[0\]\.items\[0\]\.serverScore: reading it threw an exception: "boom"$/],
    ["a getter on shelves", () => ranker.rerank(getter(page(), "shelves", boom)), /shelves: reading it threw/],
    ["a Proxy page whose get trap throws", () => ranker.rerank(new Proxy(page(), { get: boom })), /pageId: reading it threw an exception: "boom"/],
    ["a revoked Proxy as the page", () => {
      const { proxy, revoke } = Proxy.revocable(page(), {});
      revoke();
      return ranker.rerank(proxy);
    }, /revoked/],
    ["a revoked Proxy as an embedding", () => {
      const p = page();
      const { proxy, revoke } = Proxy.revocable([], {});
      revoke();
      p.shelves[1].items[2].embedding = proxy;
      return ranker.rerank(p);
    }, /shelves\[1\]\.items\[2\]\.embedding: reading it threw/],
    ["an array whose length trap throws", () => {
      const p = page();
      p.shelves[0].items = new Proxy(p.shelves[0].items, { get: (t, k) => (k === "length" ? boom() : t[k]) });
      return ranker.rerank(p);
    }, /shelves\[0\]\.items\.length: reading it threw/],
    ["a getter on an embedding element", () => {
      const p = page();
      getter(p.shelves[0].items[3].embedding, 5, boom);
      return ranker.rerank(p);
    }, /shelves\[0\]\.items\[3\]\.embedding: reading it threw an exception: "boom"/],
    ["a getter throwing a number", () => ranker.rerank(getter(page(), "shelves", () => {
      throw 42;
    })), /shelves: reading it threw the number 42/],
    ["a getter throwing a Symbol", () => ranker.rerank(getter(page(), "shelves", () => {
      throw Symbol("s");
    })), /shelves: reading it threw a Symbol/],
    ["a getter throwing an object whose message throws", () => ranker.rerank(getter(page(), "shelves", () => {
      throw getter({}, "message", boom);
    })), /shelves: reading it threw an object/],
    ["a getter on an event", () => ranker.observe(getter({ action: "play" }, "itemId", boom)), /invalid event JSON: itemId: reading it threw/],
    ["a Proxy event in an array", () => ranker.observe([{ itemId: "a", action: "play" }, new Proxy({}, { get: boom })]), /invalid events JSON: \[1\]\.itemId: reading it threw/],
    ["a getter on an option", () => ranker.rerank(PAGE, getter({}, "dedup", boom)), /invalid options JSON: dedup: reading it threw/],
    ["options whose ownKeys trap throws", () => ranker.rerank(PAGE, new Proxy({}, { ownKeys: boom })), /invalid options JSON: reading it threw/],
    ["rerankAsync with a throwing getter", () => ranker.rerankAsync(getter(page(), "embeddingDim", boom)), /embeddingDim: reading it threw/],
    ["a valueOf that throws is not called", () => {
      const p = page();
      p.shelves[0].items[0].serverScore = { valueOf: boom };
      return ranker.rerank(p);
    }, /serverScore: expected a number, got an object/],
  ];
  for (const [name, fn, text] of cases) failing(name, fn, "INVALID_JSON", text);
});

test("1. a getter on Object.prototype: read and caught; a setter there cannot break the result", () => {
  Object.defineProperty(Object.prototype, "pageId", { get: boom, configurable: true });
  try {
    const p = page();
    delete p.pageId;
    failing("an inherited throwing getter", () => ranker.rerank(p), "INVALID_JSON", /pageId: reading it threw/);
  } finally {
    delete Object.prototype.pageId;
  }
  // A prepared page's result is built in JS from packed items (js/ranker.js unpackResult):
  // setters on its properties and on array indices must not run either.
  const setters = [[Object.prototype, ["fallback", "score", "items", "id", "serverRank", "newRank"]], [Array.prototype, ["0", "1"]]];
  for (const [proto, keys] of setters) for (const key of keys) Object.defineProperty(proto, key, { set: boom, configurable: true });
  try {
    const r = ranker.rerank(PAGE);
    assert.equal(Object.hasOwn(r, "fallback"), true);
    assert.deepEqual(strip(r), REFERENCE);
    const prepared = ranker.prepare(PAGE);
    const fromPrepared = ranker.rerank(prepared);
    prepared.free();
    assert.equal(Object.hasOwn(fromPrepared.shelves[0].items[0], "score"), true);
    assert.deepEqual(strip(fromPrepared), REFERENCE);
  } finally {
    for (const [proto, keys] of setters) for (const key of keys) delete proto[key];
  }
});

test("2. free() from a getter during a call waits for it; then FREED; nothing leaks", async () => {
  const reentrantFree = async () => {
    const r = await HomeRanker.load(MODEL);
    const p = page();
    getter(p.shelves[0].items[0], "serverScore", () => {
      r.free();
      return 0.5;
    });
    const result = r.rerank(p);
    assert.deepEqual(resultIds(result).flatMap(([, ids]) => ids).sort(), pageIds(p).flatMap(([, ids]) => ids).sort());
    coded(() => r.rerank(PAGE), "FREED", /freed/);
    r.free();
  };
  const throwingFree = async () => {
    const r = await HomeRanker.load(MODEL);
    coded(() => r.rerank(getter(page(), "shelves", () => {
      r.free();
      throw new Error("after free");
    })), "INVALID_JSON", /after free/);
    coded(() => r.stats(), "FREED");
  };
  for (const fn of [reentrantFree, throwingFree]) {
    await fn();
    await fn();
    const before = memory();
    for (let i = 0; i < REPS; i++) await fn();
    assert.equal(memory(), before, `${fn.name}: linear memory grew`);
  }
  stillGood();
});

test("2. re-entrant calls from a getter (rerank, observe, forget, stats) are plain calls", () => {
  const p = page();
  let inner;
  getter(p.shelves[0].items[0], "serverScore", () => {
    inner = strip(ranker.rerank(PAGE));
    ranker.observe({ itemId: "x", action: "play" });
    ranker.forget();
    ranker.stats();
    return 0.5;
  });
  ranker.forget();
  const outer = ranker.rerank(p);
  assert.deepEqual(inner, REFERENCE);
  assert.equal(outer.fallback, null);
  stillGood();
});

// === 3. Lone surrogates ===

test("3. lone surrogates are refused with INVALID_JSON naming the string; valid pairs and U+FFFD pass exactly", () => {
  const cases = [
    ["two ids that differ in a lone surrogate", (p) => {
      p.shelves[0].items[0].id = "t\uD800";
      p.shelves[0].items[1].id = "t\uDBFF";
    }, /shelves\[0\]\.items\[0\]\.id: the string .* has a lone UTF-16 surrogate \(U\+D800 at index 1\)/],
    ["a lone low surrogate", (p) => (p.shelves[2].items[4].id = "\uDC00x"), /shelves\[2\]\.items\[4\]\.id: .*U\+DC00 at index 0/],
    ["reversed pair", (p) => (p.shelves[0].id = "a\uDE00\uD83D"), /shelves\[0\]\.id: .*U\+DE00 at index 1/],
    ["in pageId", (p) => (p.pageId = "p\uD800"), /pageId: .*lone UTF-16 surrogate/],
    ["in artistId", (p) => (p.shelves[0].items[0].artistId = "\uD800"), /artistId: .*lone/],
  ];
  for (const [name, edit, text] of cases) {
    const p = page();
    edit(p);
    failing(name, () => ranker.rerank(p), "INVALID_JSON", text);
  }
  failing("an event's itemId", () => ranker.observe({ itemId: "e\uD800", action: "play" }), "INVALID_JSON", /invalid event JSON: itemId: .*lone/);
  const ok = page();
  ok.shelves[0].items[0].id = "t\uD83D\uDE00";
  ok.shelves[0].items[1].id = "t\uFFFD";
  ok.shelves[0].items[2].id = "t\uD83D\uDE01";
  const r = ranker.rerank(ok, { dedup: false, reorderShelves: false });
  assert.equal(r.fallback, null);
  assert.deepEqual(resultIds(r).map(([s, ids]) => [s, [...ids].sort()]), pageIds(ok).map(([s, ids]) => [s, [...ids].sort()]));
  stillGood();
});

// === 4. Non-strings where a string is expected ===

test("4. a non-string argument is a typed error, never a trap", async () => {
  for (const bad of [42, null, {}, Symbol("cpu"), 1n, ["cpu"]]) {
    failing(`setBackend(${typeof bad})`, () => ranker.setBackend(bad), "INVALID_OPTIONS", /backend: expected a string, got/);
  }
  coded(() => ranker.setBackend(42), "INVALID_OPTIONS", /^invalid options: backend: expected a string, got the number 42$/);
  const loads = [
    [{ sha256: 12345 }, "INVALID_OPTIONS", /sha256: expected a string, got the number 12345/],
    [{ backend: 42 }, "INVALID_OPTIONS", /backend: expected a string, got the number 42/],
    [{ backend: "tpu" }, "INVALID_OPTIONS", /auto, cpu or gpu/],
    [{ simd: "yes" }, "INVALID_OPTIONS", /simd: expected true or false/],
    ["fast", "INVALID_OPTIONS", /load options: expected an object/],
    [getter({}, "sha256", boom), "INVALID_OPTIONS", /sha256: reading it threw/],
  ];
  for (const [options, code, text] of loads) await rejectsCoded(HomeRanker.load(MODEL, options), code, text);
  await rejectsCoded(HomeRanker.loadDefault({ onProgress: 3 }), "INVALID_OPTIONS", /onProgress: expected a function/);
  const before = memory();
  for (let i = 0; i < REPS; i++) await rejectsCoded(HomeRanker.load(MODEL, { sha256: 12345 }), "INVALID_OPTIONS");
  assert.equal(memory(), before);
  stillGood();
});

test("4. the simulator's arguments are checked (INVALID_ARGUMENT); free() is idempotent, then FREED", async () => {
  const sim = await createSimulator(7, 1);
  const simMemory = memory; // the same module instance
  const home = sim.homePage(2, 3);
  const shown = home.shelves[0].items.map((i) => i.id);
  const cases = [
    ["listen(42)", () => sim.listen(42), /itemId: expected a string, got the number 42/],
    ["itemInfo({})", () => sim.itemInfo({}), /itemId: expected a string, got an object/],
    ["listen(unknown)", () => sim.listen("nope"), /unknown item 'nope'/],
    ["listen(lone surrogate)", () => sim.listen("\uD800"), /lone UTF-16 surrogate/],
    ["choose(42)", () => sim.choose(42), /shownIds: expected an array of ids, got the number 42/],
    ["choose([1])", () => sim.choose([shown[0], 1]), /shownIds\[1\]: expected a string, got the number 1/],
    ["homePage('x', 3)", () => sim.homePage("x", 3), /nShelves: expected a whole number ≥ 0, got the string "x"/],
    ["setPersona(-1)", () => sim.setPersona(-1), /personaSeed: expected a whole number ≥ 0, got the number -1/],
  ];
  for (const [name, fn, text] of cases) {
    coded(fn, "INVALID_ARGUMENT", text);
    noGrowth(name, () => coded(fn, "INVALID_ARGUMENT"), REPS, simMemory);
  }
  assert.equal(typeof sim.listen(shown[0]).action, "string");
  assert.equal(sim.itemInfo(shown[1]).id, shown[1]);
  await rejectsCoded(createSimulator("seven"), "INVALID_ARGUMENT", /catalogSeed: expected a whole number/);
  sim.free();
  sim.free();
  coded(() => sim.listen(shown[0]), "FREED", /simulator was freed/);
  coded(() => sim.homePage(1, 1), "FREED");
});

// === 5. Use after free, double free, detached and shared buffers ===

test("5. free() is idempotent and every later call is FREED", async () => {
  const r = await HomeRanker.load(MODEL);
  r.free();
  r.free();
  const calls = [
    () => r.rerank(PAGE),
    () => r.rerankAsync(PAGE),
    () => r.observe({ itemId: "a", action: "play" }),
    () => r.forget(),
    () => r.stats(),
    () => r.setBackend("cpu"),
    () => r.modelId,
    () => r.embeddingDim,
  ];
  for (const call of calls) failing("a call after free", call, "FREED", /^homerank: this ranker was freed; load a new one$/);
});

test("5. model bytes: detached buffers are INVALID_MODEL; shared ones load like any other", async () => {
  const detach = (buffer) => structuredClone(buffer, { transfer: [buffer] });
  const ab = Uint8Array.from(MODEL).buffer;
  detach(ab);
  await rejectsCoded(HomeRanker.load(ab), "INVALID_MODEL", /detached/);
  const view = Uint8Array.from(MODEL);
  detach(view.buffer);
  await rejectsCoded(HomeRanker.load(view), "INVALID_MODEL", /detached/);
  for (const bad of [42, "bytes", null, undefined, { length: 3 }, [1, 2, 3]]) {
    await rejectsCoded(HomeRanker.load(bad), "INVALID_MODEL", /model bytes must be/);
  }
  const sab = new SharedArrayBuffer(MODEL.length);
  new Uint8Array(sab).set(MODEL);
  for (const shared of [sab, new Uint8Array(sab), new DataView(sab)]) {
    const r = await HomeRanker.load(shared);
    assert.equal(r.modelId, ranker.modelId);
    stillGood(r);
    r.free();
  }
  const before = memory();
  for (let i = 0; i < REPS; i++) await rejectsCoded(HomeRanker.load(ab), "INVALID_MODEL");
  assert.equal(memory(), before);
  stillGood();
});

// === 6. The worker client ===

// Every worker is stopped at the end, whatever failed (a live thread keeps Node running).
const workers = [];
class NodeWebWorker extends Worker {
  constructor() {
    super();
    workers.push(this);
  }
}
after(() => workers.forEach((w) => w.terminate()));

/** A deep Proxy: every object read through a trap. */
function deepProxy(v) {
  if (typeof v !== "object" || v === null) return v;
  return new Proxy(v, { get: (t, k) => deepProxy(Reflect.get(t, k)) });
}

test("6. the worker: same answers and errors as the main thread; every promise settles with a code", async () => {
  const sab = new SharedArrayBuffer(MODEL.length);
  new Uint8Array(sab).set(MODEL);
  const w = await HomeRankerWorker.load(sab, { worker: new NodeWebWorker() });
  assert.equal(w.modelId, ranker.modelId);
  assert.deepEqual(strip(await w.rerank(PAGE)), REFERENCE);
  // A Proxy cannot be cloned: it is read on this thread, as the main thread reads it.
  assert.deepEqual(strip(await w.rerank(deepProxy(page()))), REFERENCE);
  assert.deepEqual(strip(ranker.rerank(deepProxy(page()))), REFERENCE);
  // A getter that throws: the same error on both threads.
  const thrower = () => {
    const p = page();
    getter(p.shelves[0].items[0], "serverScore", boom);
    return p;
  };
  const main = coded(() => ranker.rerank(thrower()), "INVALID_JSON");
  const off = await rejectsCoded(w.rerank(thrower()), "INVALID_JSON");
  assert.equal(off.message, main.message);
  const fnPage = page();
  fnPage.shelves[0].items[0].serverScore = () => 1;
  coded(() => ranker.rerank(fnPage), "INVALID_JSON", /serverScore: expected a number, got a function/);
  await rejectsCoded(w.rerank(fnPage), "INVALID_JSON", /serverScore: a function cannot be sent to the worker/);
  // A cycle through an unknown field: the clone copies it, the reader never reads it.
  const cyclic = page();
  cyclic.shelves[0].items[0].self = cyclic;
  assert.deepEqual(strip(await w.rerank(cyclic)), REFERENCE);
  assert.deepEqual(strip(ranker.rerank(cyclic)), REFERENCE);
  // Through Proxies (no identity to find the cycle by), the copy stops at a depth.
  const deep = await rejectsCoded(w.rerank(deepProxy(cyclic)), "INVALID_JSON", /nested more than 64 levels deep/);
  assert.ok(deep.message.length < 400, deep.message.length);
  await rejectsCoded(w.rerank({ embeddingDim: 32, shelves: [{ id: "a", items: [{ id: "x", serverScore: "0.5", embedding: [] }] }] }), "INVALID_JSON", /shelves\[0\]\.items\[0\]\.serverScore: expected a number, got the string "0\.5"/);
  await rejectsCoded(w.observe({ itemId: 7, action: "play" }), "INVALID_JSON", /itemId: expected a string/);
  // No growth of the worker's linear memory either.
  const workerMemory = async () => (await w.stats()).linearMemoryBytes;
  const badType = page();
  badType.shelves[0].items[0].serverScore = "0.5";
  const before = await workerMemory();
  for (let i = 0; i < REPS; i++) {
    await rejectsCoded(w.rerank(badType), "INVALID_JSON");
    await rejectsCoded(w.rerank(thrower()), "INVALID_JSON");
  }
  assert.equal(await workerMemory(), before);
  assert.deepEqual(strip(await w.rerank(PAGE)), REFERENCE);
  assert.equal(await w.observe([{ itemId: "a", action: "play" }]), 1);
  await rejectsCoded(HomeRankerWorker.load(new Uint8Array(8), { worker: new NodeWebWorker() }), "INVALID_MODEL");
  const gone = new ArrayBuffer(8);
  structuredClone(gone, { transfer: [gone] });
  await rejectsCoded(HomeRankerWorker.load(gone, { worker: new NodeWebWorker() }), "INVALID_MODEL", /detached/);
  await rejectsCoded(HomeRankerWorker.load(Uint8Array.from(MODEL), { worker: new NodeWebWorker(), sha256: 12345 }), "INVALID_OPTIONS", /sha256: expected a string/);
  // free(): pending calls and later ones reject with FREED; free() again is fine.
  const pending = w.rerank(PAGE);
  await w.free();
  await rejectsCoded(pending, "FREED");
  await rejectsCoded(w.stats(), "FREED");
  await w.free();
});

test("6. a worker that dies or is terminated mid-call rejects every pending call with WORKER", async () => {
  for (const kill of ["crash", "terminate"]) {
    const worker = new NodeWebWorker();
    const w = await HomeRankerWorker.load(Uint8Array.from(MODEL), { worker });
    worker.mute();
    const pending = [w.rerank(PAGE), w.stats(), w.observe({ itemId: "a", action: "play" })];
    if (kill === "crash") worker.crash();
    else worker.terminate();
    for (const p of pending) await rejectsCoded(p, "WORKER", kill === "crash" ? /failed: the worker crashed/ : /terminated/);
    await rejectsCoded(w.rerank(PAGE), "WORKER");
    await w.free();
    await rejectsCoded(w.rerank(PAGE), "FREED");
  }
});

// === 7. Type errors say where ===

test("7. type errors name the path, the expected type and what came", () => {
  const at = (s, i) => (p) => p.shelves[s].items[i];
  const cases = [
    ["a string score", (p) => (at(2, 7)(p).serverScore = "0.5"), /^invalid page JSON: shelves\[2\]\.items\[7\]\.serverScore: expected a number, got the string "0\.5"$/],
    ["a BigInt embeddingDim", (p) => (p.embeddingDim = 32n), /^invalid page JSON: embeddingDim: expected a whole number ≥ 0, got a BigInt$/],
    ["a BigInt score", (p) => (at(0, 1)(p).serverScore = 1n), /shelves\[0\]\.items\[1\]\.serverScore: expected a number, got a BigInt/],
    ["a Symbol id", (p) => (at(1, 0)(p).id = Symbol("x")), /shelves\[1\]\.items\[0\]\.id: expected a string, got a Symbol/],
    ["a Date score", (p) => (at(0, 0)(p).serverScore = new Date()), /serverScore: expected a number, got a Date/],
    ["a string duration", (p) => (at(0, 0)(p).durationMs = "200"), /durationMs: expected a number, got the string "200"/],
    ["a sparse embedding", (p) => delete at(3, 2)(p).embedding[3], /shelves\[3\]\.items\[2\]\.embedding\[3\]: expected a number, got an empty slot \(the array is sparse\)/],
    ["a sparse items array", (p) => (p.shelves[0].items.length = 13), /shelves\[0\]\.items\[12\]: expected an object, got an empty slot/],
    ["a sparse shelves array", (p) => delete p.shelves[1], /shelves\[1\]: expected an object, got an empty slot/],
    ["pinned: \"yes\"", (p) => (p.shelves[0].pinned = "yes"), /^invalid page JSON: shelves\[0\]\.pinned: expected true or false, got the string "yes"$/],
    ["maxItems: -1", (p) => (p.shelves[0].maxItems = -1), /^invalid page JSON: shelves\[0\]\.maxItems: expected a whole number ≥ 0, got the number -1$/],
    ["maxItems: 1.5", (p) => (p.shelves[0].maxItems = 1.5), /maxItems: expected a whole number ≥ 0, got the number 1\.5/],
    ["maxItems: NaN", (p) => (p.shelves[0].maxItems = NaN), /maxItems: expected a whole number ≥ 0, got the number NaN/],
    ["minItems: 2**60", (p) => (p.shelves[0].minItems = 2 ** 60), /minItems: expected a whole number ≥ 0/],
    ["type: 7", (p) => (at(0, 0)(p).type = 7), /type: expected one of "track", .*, got the number 7/],
    ["embedding: a string", (p) => (at(0, 0)(p).embedding = "0,1"), /embedding: expected an array, got the string "0,1"/],
    ["embedding: a BigInt64Array", (p) => (at(0, 0)(p).embedding = new BigInt64Array(32)), /embedding: expected an array of numbers .*, got a typed array/],
    ["an embedding of strings", (p) => (at(0, 0)(p).embedding = at(0, 0)(p).embedding.map(String)), /embedding\[0\]: expected a number, got the string/],
    ["shelves: {}", (p) => (p.shelves = {}), /^invalid page JSON: shelves: expected an array, got an object$/],
    ["an item that is an array", (p) => (p.shelves[0].items[0] = []), /shelves\[0\]\.items\[0\]: expected an object, got an array/],
    ["a missing id", (p) => delete at(0, 2)(p).id, /shelves\[0\]\.items\[2\]: missing field `id`/],
    ["a function title", (p) => (p.shelves[0].title = () => "t"), /shelves\[0\]\.title: expected a string, got a function/],
  ];
  for (const [name, edit, text] of cases) {
    const p = page();
    edit(p);
    failing(name, () => ranker.rerank(p), "INVALID_JSON", text);
  }
  for (const [page_, text] of [[null, /expected an object, got null/], ["page", /expected an object, got the string "page"/], [[], /expected an object, got an array/], [undefined, /expected an object, got undefined/]]) {
    failing("a page that is not an object", () => ranker.rerank(page_), "INVALID_JSON", text);
  }
  const cyclic = { dedup: true };
  cyclic.self = cyclic;
  const options = [
    [{ maxArtistRun: 2n }, "INVALID_JSON", /^invalid options JSON: maxArtistRun: expected a whole number ≥ 0, got a BigInt$/],
    [{ dedup: "yes" }, "INVALID_JSON", /dedup: expected true or false, got the string "yes"/],
    [{ strict: 1 }, "INVALID_JSON", /strict: expected true or false, got the number 1/],
    [{ dedup: () => true }, "INVALID_JSON", /dedup: expected true or false, got a function/],
    [{ shelfAggregateTopK: Symbol() }, "INVALID_JSON", /shelfAggregateTopK: expected a whole number ≥ 0, got a Symbol/],
    [cyclic, "INVALID_JSON", /unknown field `self`/],
    ["fast", "INVALID_JSON", /^invalid options JSON: expected an object, got the string "fast"$/],
    [[], "INVALID_JSON", /expected an object, got an array/],
    [{ negativeFeedback: NaN }, "INVALID_OPTIONS", /negativeFeedback must be a finite number/],
  ];
  for (const [o, code, text] of options) failing("bad options", () => ranker.rerank(PAGE, o), code, text);
  // undefined is absent, null is "none", as in JSON.
  assert.deepEqual(strip(ranker.rerank(PAGE, { maxArtistRun: undefined, dedup: undefined })), REFERENCE);
  assert.equal(ranker.rerank(PAGE, { maxArtistRun: null }).fallback, null);
  const events = [
    [{ itemId: 7, action: "play" }, /^invalid event JSON: itemId: expected a string, got the number 7$/],
    [[{ itemId: "a", action: "play" }, { itemId: "b", action: "nope" }], /^invalid events JSON: \[1\]\.action: unknown variant `nope`, expected one of/],
    [{ itemId: "a", action: "play", msPlayed: "100" }, /msPlayed: expected a number, got the string "100"/],
    [{ itemId: "a", action: 3 }, /action: expected one of "impression", .*, got the number 3/],
    [[{ itemId: "a", action: "play" }, , { itemId: "b", action: "play" }], /\[1\]: expected an object, got an empty slot/],
  ];
  for (const [e, text] of events) failing("a bad event", () => ranker.observe(e), "INVALID_JSON", text);
  assert.equal(ranker.stats().eventsHeld, 0);
  // Typed arrays of numbers are embeddings too.
  const typed = page();
  for (const s of typed.shelves) for (const [k, i] of s.items.entries()) i.embedding = k % 2 ? Float64Array.from(i.embedding) : Float32Array.from(i.embedding);
  ranker.forget();
  assert.deepEqual(resultIds(ranker.rerank(typed)), REFERENCE.shelves.map((s) => [s.id, s.items.map((i) => i.id)]));
});

// === 8. Bounded echoes; the GGUF size arithmetic ===

test("8. messages cap the values they echo; a huge string is refused before it is copied", async () => {
  const huge = "x".repeat(10_000_000);
  const p = page();
  p.shelves[0].items[0].id = huge;
  const before = memory();
  const e = coded(() => ranker.rerank(p), "INVALID_JSON", /shelves\[0\]\.items\[0\]\.id: a string of 10000000 UTF-16 code units, at most 65536 are read/);
  assert.ok(e.message.length < 300, e.message.length);
  assert.ok(memory() - before < 1 << 20, `linear memory grew by ${memory() - before} bytes`);
  noGrowth("a 10 MB id", () => coded(() => ranker.rerank(p), "INVALID_JSON"), REPS);
  // Echoed in a type error or as what a getter threw: only a prefix is copied.
  for (const [edit, text] of [
    [(q) => (q.shelves[0].items[0].serverScore = huge), /serverScore: expected a number, got the string "x+"… \(10000000 UTF-16 units\)$/],
    [(q) => getter(q.shelves[0].items[0], "serverScore", () => {
      throw new Error(huge);
    }), /serverScore: reading it threw an exception: "x+"… \(10000000 UTF-16 units\)$/],
  ]) {
    const q = page();
    edit(q);
    const m0 = memory();
    const err = coded(() => ranker.rerank(q), "INVALID_JSON", text);
    assert.ok(err.message.length < 300 && memory() - m0 < 1 << 20, `${err.message.length} chars, +${memory() - m0} bytes`);
    noGrowth("a 10 MB echo", () => coded(() => ranker.rerank(q), "INVALID_JSON"), REPS);
  }
  // Long ids the reader takes: the server order exactly, the reason capped.
  for (const [edit, reason] of [
    [(q) => (q.shelves[0].items[0].id = "y".repeat(60_000)), /\('y+… \(60000 bytes\)'\): id is 60000 bytes long, at most 512/],
    [(q) => (q.shelves[1].items[0].id = q.shelves[1].items[1].id = "z".repeat(400)), /\('z+… \(400 bytes\)'\): the id appears twice/],
    [(q) => (q.shelves[2].id = "w".repeat(50_000)), /is 50000 bytes long/],
  ]) {
    const q = page();
    edit(q);
    const r = ranker.rerank(q);
    assert.deepEqual(resultIds(r), pageIds(q));
    assert.ok(r.fallback.length < 400, `${r.fallback.length}: ${r.fallback.slice(0, 200)}`);
    assert.match(r.fallback, reason);
    const strict = coded(() => ranker.rerank(q, { strict: true }), "INVALID_PAGE", reason);
    assert.ok(strict.message.length < 400);
    noGrowth("a long id", () => ranker.rerank(q), REPS);
    stillGood();
  }
  const v = coded(() => ranker.observe({ itemId: "a", action: "q".repeat(60_000) }), "INVALID_JSON", /unknown variant `q+… \(60000 bytes\)`/);
  assert.ok(v.message.length < 400);
  const c = await rejectsCoded(HomeRanker.load(MODEL, { sha256: "f".repeat(60_000) }), "MODEL_CHECKSUM", /\(60000 bytes\)/);
  assert.ok(c.message.length < 300, c.message.length);
  stillGood();
});

/** A GGUF file with one Q8_0 tensor of shape [15790321, 256]: 4294967312 bytes, 16 on wasm32 if unchecked. */
function overflowingGguf() {
  const parts = [];
  const u32 = (v) => parts.push(new Uint8Array(new Uint32Array([v]).buffer));
  const u64 = (v) => parts.push(new Uint8Array(new BigUint64Array([BigInt(v)]).buffer));
  u32(0x46554747);
  u32(3);
  u64(1); // tensors
  u64(0); // metadata
  u64(1);
  parts.push(new TextEncoder().encode("t"));
  u32(2);
  u64(256); // innermost first
  u64(15790321);
  u32(8); // Q8_0
  u64(0);
  const head = parts.reduce((n, p) => n + p.length, 0);
  // Large enough for the parser's per-dimension bound (8 × the file's length).
  const out = new Uint8Array(Math.max(2_000_000, head + 64));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

test("8. the GGUF reader's size arithmetic is checked on wasm32: [15790321, 256] Q8_0 is refused", async () => {
  await rejectsCoded(HomeRanker.load(overflowingGguf()), "INVALID_MODEL", /tensor 't' of shape \[15790321, 256\] needs 4294967312 bytes/);
});

// === 9. forget() erases ===

test("9. after forget() no event id, page id or embedding of the session is left in linear memory", async () => {
  const r = await HomeRanker.load(MODEL);
  const mem = (await simdGlue.default()).memory;
  const bytes = () => Buffer.from(mem.buffer);
  const has = (needle) => bytes().indexOf(needle) !== -1;
  const EVENT_ID = "secret-event-item-5f1c9e07";
  const PAGE_ID = "secret-page-item-8d2e7a31";
  const eventEmbedding = Float32Array.from({ length: 32 }, (_, i) => 1234.5678 + i * 0.001);
  const pageEmbedding = Float32Array.from({ length: 32 }, (_, i) => -4321.125 - i * 0.001);
  const p = page();
  p.shelves[0].items[0].id = PAGE_ID;
  p.shelves[0].items[0].embedding = Array.from(pageEmbedding);
  r.rerank(p);
  r.observe({ itemId: EVENT_ID, action: "skip", msPlayed: 1234, embedding: Array.from(eventEmbedding) });
  r.observe({ itemId: PAGE_ID, action: "complete" });
  const needles = [Buffer.from(EVENT_ID), Buffer.from(PAGE_ID), Buffer.from(eventEmbedding.buffer), Buffer.from(pageEmbedding.buffer)];
  assert.deepEqual(needles.map(has), [true, true, true, true], "the session holds them before forget()");
  r.forget();
  assert.deepEqual(needles.map(has), [false, false, false, false], "left in linear memory after forget()");
  assert.equal(r.stats().eventsHeld, 0);
  stillGood(r);
  r.free();
});

// === The codes ===

test("every code is in the exported ErrorCode union, which is the Rust Error::CODES list", () => {
  const dts = readFileSync(new URL("../../pkg/simd/homerank.d.ts", import.meta.url), "utf8");
  const union = dts.match(/export type ErrorCode =([^;]*);/);
  assert.ok(union, "pkg/simd/homerank.d.ts exports ErrorCode");
  const codes = [...union[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]);
  const rust = readFileSync(new URL("../../src/error.rs", import.meta.url), "utf8").match(/pub const CODES: &'static \[&'static str\] = &\[([^\]]*)\]/);
  assert.ok(rust, "src/error.rs has Error::CODES");
  assert.deepEqual(codes, [...rust[1].matchAll(/"([A-Z_]+)"/g)].map((m) => m[1]));
  for (const code of seenCodes) assert.ok(codes.includes(code), `${code} is not in ErrorCode`);
});
