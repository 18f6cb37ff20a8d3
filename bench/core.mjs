// What the Node bench (bench/rerank.mjs) and the browser bench (bench/browser.html, driven by
// bench/browser.mjs) share: the synthetic page, the HR-S FLOP count, onnxruntime-web's inputs,
// and the measurement — contenders run in turn, in short slices, round after round, so that a
// change in the machine's load falls on all of them alike (on a shared 2-core VM the speed of
// the same code drifts by tens of percent within minutes; back-to-back runs would turn that
// drift into a false ratio).

export function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s ^ (s >>> 15), 2246822507) + 0x9e3779b9) >>> 0) / 4294967296);
}

/** A page of n items in shelves of 50 with random unit embeddings, and l events on its items. */
export function syntheticPage(n, l, dim = 32, seed = 1) {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const types = ["track", "episode", "audiobook", "playlist"];
  const shelves = [];
  for (let s = 0; s * 50 < n; s++) {
    const items = [];
    for (let i = 0; i < Math.min(50, n - s * 50); i++) {
      items.push({ id: `s${s}-i${i}`, type: types[(s + i) % 4], serverScore: 1 - i / 50,
        embedding: Array.from({ length: dim }, gauss), artistId: `a${Math.floor(r() * 40)}`, durationMs: 200000 });
    }
    shelves.push({ id: `shelf-${s}`, title: `Shelf ${s}`, items });
  }
  const ids = shelves.flatMap((s) => s.items.map((i) => i.id));
  const actions = ["play", "skip", "complete", "like"];
  const events = Array.from({ length: l }, (_, k) => ({ itemId: ids[(k * 7) % ids.length], action: actions[k % 4], msPlayed: 4000 * k }));
  return { page: { pageId: `bench-${n}`, embeddingDim: dim, shelves }, events };
}

/** Multiply-adds ×2 of one HR-S forward (d=64, FFN 256, 2 + 2 layers, E=32). */
export function flops(n, l) {
  const d = 64, f = 256, e = 32;
  const attn = (tq, tk) => 2 * tq * d * d + 2 * tk * d * d + 2 * tq * tk * d;
  return 2 * ((n + l) * e * d + 2 * (attn(l, l) + 2 * l * d * f) + 2 * (attn(n, n) + attn(n, l) + 2 * n * d * f) + n * d);
}

/** onnxruntime-web's inputs for one forward: session tokens [l, 64], candidates [n, 64], server scores [n]. */
export function ortFeeds(ort, n, l, random) {
  const fill = (len) => Float32Array.from({ length: len }, () => random() * 2 - 1);
  return {
    session: new ort.Tensor("float32", fill(l * 64), [l, 64]),
    cands: new ort.Tensor("float32", fill(n * 64), [n, 64]),
    server_score: new ort.Tensor("float32", fill(n), [n]),
  };
}

/** The session length of `homerank-s` (its `max_events`): a session holds the last 64 events. */
export const MAX_EVENTS = 64;

/**
 * homerank's contenders for one shape, with the ranker holding the page's `l` events:
 * - `page`: `rerank(page)`, the page object read across the JS boundary on every call;
 * - `prepared`: `rerank(prepared)` on a page read once, with the session unchanged since the last
 *   call, so the session encoder's output is reused (a re-render of the same Home);
 * - `event`: one new event observed, then `rerank(prepared)` — what a player does after each
 *   play or skip, and the same work as onnxruntime-web's forward (which runs the session encoder
 *   every call). Only where `l` is the session's full length, so that the new event slides the
 *   window and the shape stays `n × l`.
 */
export function homerankContenders(ranker, page, prepared, l) {
  const contenders = { page: () => ranker.rerank(page), prepared: () => ranker.rerank(prepared) };
  if (l === MAX_EVENTS) {
    const next = eventStream(page);
    contenders.event = () => {
      ranker.observe([next()]);
      return ranker.rerank(prepared);
    };
  }
  return contenders;
}

/** A function that returns the next of an endless stream of events on `page`'s items. */
export function eventStream(page) {
  const ids = page.shelves.flatMap((s) => s.items.map((i) => i.id));
  const actions = ["play", "skip", "complete", "like"];
  let k = 0;
  return () => {
    k++;
    return { itemId: ids[(k * 13) % ids.length], action: actions[k % 4], msPlayed: 1000 * (k % 200) };
  };
}

const now = () => performance.now();

/** Calls `fn` (awaiting it when it returns a promise) until `ms` have passed; the call times. */
async function slice(fn, ms, times) {
  const end = now() + ms;
  do {
    const s = now();
    const r = fn();
    if (r && typeof r.then === "function") await r;
    times?.push(now() - s);
  } while (now() < end);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/**
 * Each contender (`{ name: fn }`) warmed up for `warmupMs` (V8 tiers wasm up after ~50 calls),
 * then `rounds` rounds in which each runs for `sliceMs` in turn. Returns per contender the p50
 * and p90 of its call times and how many calls were timed.
 */
export async function interleaved(contenders, { warmupMs = 2000, sliceMs = 250, rounds = 12 } = {}) {
  const names = Object.keys(contenders);
  for (const name of names) await slice(contenders[name], warmupMs, null);
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of names) await slice(contenders[name], sliceMs, times[name]);
  }
  return Object.fromEntries(names.map((n) => {
    const t = times[n].sort((a, b) => a - b);
    return [n, { p50: percentile(t, 0.5), p90: percentile(t, 0.9), iters: t.length }];
  }));
}

/** The table both benches print and write into the README: one row per shape. */
export function table(rows) {
  const ms = (v) => (v === undefined || v === null ? "–" : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
  const ratio = (a, b) => (a && b ? (a.p50 / b.p50).toFixed(2) : "–");
  const lines = [
    "| N | L | homerank `rerank(page)` p50 / p90 ms | `rerank(prepared)`, same session, p50 / p90 ms | new event + `rerank(prepared)` p50 / p90 ms | GFLOP/s (new event) | onnxruntime-web p50 ms | ort / homerank: page / prepared / new event |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const gflops = r.event ? (flops(r.n, r.l) / (r.event.p50 * 1e-3) / 1e9).toFixed(1) : "–";
    const pair = (t) => (t ? `${ms(t.p50)} / ${ms(t.p90)}` : "–");
    lines.push(`| ${r.n} | ${r.l} | ${pair(r.page)} | ${pair(r.prepared)} | ${pair(r.event)} | ${gflops} | ${ms(r.ort?.p50)} | ` +
      `${ratio(r.ort, r.page)} / ${ratio(r.ort, r.prepared)} / ${ratio(r.ort, r.event)} |`);
  }
  return lines;
}

/** Budgets (docs/ARCHITECTURE.md, "Budgets") not met by `rows`, in words. */
export function unmet(rows, { coldMs, budgets = { "200x64": 2, "1000x64": 12 }, coldBudgetMs = 60 } = {}) {
  const out = [];
  for (const r of rows) {
    const budget = budgets[`${r.n}x${r.l}`];
    if (!budget) continue;
    const ways = [["rerank(page)", r.page], ["rerank(prepared)", r.prepared], ["a new event + rerank(prepared)", r.event]];
    for (const [how, t] of ways.filter(([, t]) => t)) {
      if (t.p50 > budget) out.push(`p50 ${t.p50.toFixed(2)} ms with ${how} at N = ${r.n} (budget ${budget} ms)`);
      if (r.ort && r.ort.p50 / t.p50 < 2) out.push(`${(r.ort.p50 / t.p50).toFixed(2)}× onnxruntime-web with ${how} at N = ${r.n} (budget 2×)`);
    }
  }
  if (coldMs !== undefined && coldMs > coldBudgetMs) out.push(`cold start ${coldMs.toFixed(0)} ms (budget ${coldBudgetMs} ms)`);
  return out;
}
