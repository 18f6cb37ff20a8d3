// The homerank demo: a Home page from a simulated server, reranked on the device after every
// event, side by side with the server's order. All state that describes a layout lives in
// `layout` and round-trips through the URL hash and the export file.
import { HomeRanker, createSimulator, indexedDbStore } from "../js/index.js";
import { DEFAULT_LAYOUT, encodeLayout, layoutFromHash, normalizeLayout } from "./layout-state.js";
import { renderHome } from "./cards.js";
import { artworkStyle, escapeHtml, subtitleOf, titleOf } from "./names.js";
import { armFrom, defaultLab, encodeLab } from "./lab-state.js";

const $ = (id) => document.getElementById(id);
const CATALOG_SEED = 7;
const PERSONAS = [
  [1, "Indie night owl"], [2, "Podcast commuter"], [3, "Audiobook bingewatcher"], [4, "Playlist hopper"],
  [5, "Genre explorer"], [6, "Focus worker"], [7, "Weekend DJ"], [8, "Random"],
];

let layout = layoutFromHash(location.hash) ?? structuredClone(DEFAULT_LAYOUT);
let ranker;
let sim;
let pastedPage = null;
let serverPage;          // the page as the server sends it, after the designer's layout
let lastResult;
let nowPlaying = null;   // { id, startedAt, durationMs, timer }
let autoTimer = null;
const times = [];

// ---------- layout state <-> URL ----------

function saveLayoutToUrl() {
  const { page, ...rest } = layout;
  history.replaceState(null, "", `#layout=${encodeLayout(rest)}`);
  // The lab opens on this layout: the server's order (A) against on-device reranking (B).
  const lab = { ...defaultLab(), a: armFrom({ ...rest, rerank: false }, "Server order"), b: armFrom(rest, "On-device reranking") };
  $("lab-link").href = `./lab.html#lab=${encodeLab(lab)}`;
}

// ---------- pages ----------

function basePage() {
  if (layout.source === "json" && pastedPage) return structuredClone(pastedPage);
  return sim.homePage(layout.shelves, layout.cards);
}

/** The server page with the designer's shelf order and pins applied. */
function designedPage() {
  const page = basePage();
  const byId = new Map(page.shelves.map((s) => [s.id, s]));
  const ordered = layout.shelfOrder.filter((id) => byId.has(id)).map((id) => byId.get(id));
  for (const s of page.shelves) if (!layout.shelfOrder.includes(s.id)) ordered.push(s);
  for (const s of ordered) s.pinned = layout.pinned.includes(s.id) || !!s.pinned;
  page.shelves = ordered;
  return page;
}

function rerank() {
  const options = { ...layout.options };
  const result = ranker.rerank(serverPage, options);
  if (result.eventsUsed > 0) {
    times.push(result.elapsedMs);
    if (times.length > 200) times.shift();
  }
  lastResult = result;
  return result;
}

// ---------- rendering ----------

const itemIndex = new Map();   // item id -> item (from the server page)

// `?backend=auto` or `?backend=gpu` in the URL scores with WebGPU where the browser has it
// (asynchronously: a render asked for while one is in flight is folded into a single re-render).
const BACKEND = new URLSearchParams(location.search).get("backend") ?? "cpu";
let gpuRender = null;
let gpuRenderAgain = false;

function render() {
  if (BACKEND === "cpu") return draw(rerank());
  if (gpuRender) {
    gpuRenderAgain = true;
    return;
  }
  gpuRender = (async () => {
    do {
      gpuRenderAgain = false;
      const result = await ranker.rerankAsync(serverPage, { ...layout.options });
      if (result.eventsUsed > 0) {
        times.push(result.elapsedMs);
        if (times.length > 200) times.shift();
      }
      lastResult = result;
      draw(result);
    } while (gpuRenderAgain);
  })().finally(() => {
    gpuRender = null;
  });
}

function draw(result) {
  const serverShelves = serverPage.shelves.map((s) => ({
    id: s.id, title: s.title, pinned: s.pinned,
    visible: Math.min(s.items.length, s.maxItems ?? Infinity),
    items: s.items.map((item) => ({ item })),
  }));
  const byShelf = new Map(serverPage.shelves.map((s) => [s.id, s]));
  const deviceShelves = result.shelves.map((r) => {
    const s = byShelf.get(r.id);
    return {
      id: r.id, title: s.title, pinned: r.pinned, serverRank: r.serverRank, newRank: r.newRank, visible: r.visible,
      items: r.items.map((ri) => ({ item: s.items[ri.serverRank], result: ri })),
    };
  });
  const view = { size: layout.size, template: layout.template, playingId: nowPlaying?.id, onPlay: startPlaying };
  renderHome($("server-home"), serverShelves, { ...view, device: false });
  renderHome($("device-home"), deviceShelves, { ...view, device: true });
  renderStatus(result);
}

function renderStatus(result) {
  const stats = ranker.stats();
  $("st-backend").textContent = `${result.backend === "none" ? stats.backend : result.backend} (${stats.wasm})`;
  $("st-backend").title = [stats.gpuAdapter, result.backendFallback ?? stats.gpuError].filter(Boolean).join(" — ");
  $("st-model").textContent = ranker.modelId;
  $("st-model").title = ranker.modelId;
  const sorted = [...times].sort((a, b) => a - b);
  const p50 = sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
  $("st-time").textContent = p50 === null ? "–" : `${result.elapsedMs.toFixed(1)} ms (p50 ${p50.toFixed(1)})`;
  $("st-events").textContent = String(stats.eventsHeld);
  $("st-profile").textContent = layout.midTerm ? `${stats.midTermEvents} earlier` : "off";
  $("st-profile").title = stats.midTermProfile;
  $("st-arm").textContent = result.experiment ? `${result.experiment.id}: ${result.experiment.arm}${result.experiment.killed ? " (killed)" : ""}` : "–";
  if (result.fallback) $("st-time").textContent = `fallback: ${result.fallback}`;
}

function renderShelfList() {
  const list = $("shelf-list");
  list.replaceChildren();
  serverPage.shelves.forEach((s, i) => {
    const li = document.createElement("li");
    li.draggable = true;
    li.dataset.id = s.id;
    const pinned = layout.pinned.includes(s.id);
    li.innerHTML = `<span aria-hidden="true">⋮⋮</span><span class="name"></span>
      <button type="button" class="icon-btn" data-move="-1" aria-label="Move up">↑</button>
      <button type="button" class="icon-btn" data-move="1" aria-label="Move down">↓</button>
      <button type="button" class="icon-btn" data-pin aria-pressed="${pinned}" aria-label="Pin">⚑</button>`;
    li.querySelector(".name").textContent = s.title || s.id;
    li.querySelector("[data-pin]").setAttribute("aria-label", `Pin ${s.title || s.id}`);
    li.querySelector("[data-pin]").dataset.testid = "pin";
    li.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.pin !== undefined) togglePin(s.id);
      else moveShelf(i, i + Number(b.dataset.move));
    });
    li.addEventListener("dragstart", (e) => {
      li.classList.add("dragging");
      e.dataTransfer.setData("text/plain", String(i));
    });
    li.addEventListener("dragend", () => li.classList.remove("dragging"));
    li.addEventListener("dragover", (e) => e.preventDefault());
    li.addEventListener("drop", (e) => {
      e.preventDefault();
      moveShelf(Number(e.dataTransfer.getData("text/plain")), i);
    });
    list.append(li);
  });
}

// ---------- layout actions ----------

function currentOrder() {
  return serverPage.shelves.map((s) => s.id);
}

function moveShelf(from, to) {
  const order = currentOrder();
  if (to < 0 || to >= order.length || from === to) return;
  const [id] = order.splice(from, 1);
  order.splice(to, 0, id);
  layout.shelfOrder = order;
  rebuild();
}

function togglePin(id) {
  layout.pinned = layout.pinned.includes(id) ? layout.pinned.filter((p) => p !== id) : [...layout.pinned, id];
  rebuild();
}

/** Recomputes the server page from the layout, re-renders, and saves the layout to the URL. */
function rebuild() {
  serverPage = designedPage();
  itemIndex.clear();
  for (const s of serverPage.shelves) for (const i of s.items) itemIndex.set(i.id, i);
  renderShelfList();
  syncControls();
  render();
  saveLayoutToUrl();
}

function syncControls() {
  $("source").value = layout.source;
  $("persona").value = String(layout.persona);
  $("persona-field").hidden = layout.source !== "persona";
  $("json-field").hidden = layout.source !== "json";
  $("shelves").value = layout.shelves;
  $("shelves-out").textContent = layout.shelves;
  $("cards").value = layout.cards;
  $("cards-out").textContent = layout.cards;
  for (const r of document.querySelectorAll("input[name=size]")) r.checked = r.value === layout.size;
  $("template").value = layout.template;
  $("dedup").checked = layout.options.dedup;
  $("reorder").checked = layout.options.reorderShelves;
  $("diversity").value = layout.options.maxArtistRun ?? 0;
  $("div-out").textContent = layout.options.maxArtistRun ?? "off";
  for (const r of document.querySelectorAll("input[name=view]")) r.checked = r.value === layout.view;
  $("columns").classList.toggle("device-only", layout.view === "device");
  $("midterm").checked = layout.midTerm;
}

// ---------- the ranker: mid-term profile and experiment ----------

const PROFILE_STORE = indexedDbStore("homerank-demo");

/** A ranker for the layout's mid-term setting (the profile restored from IndexedDB when on). */
async function loadRanker() {
  const next = await HomeRanker.loadDefault({ backend: BACKEND, ...(layout.midTerm ? { midTerm: { store: PROFILE_STORE } } : {}) });
  applyExperiment(next);
  return next;
}

/** Runs the layout's experiment, if it carries one; a bad one is logged and ignored. */
function applyExperiment(target = ranker) {
  try {
    target.setExperiment(layout.experiment);
  } catch (e) {
    logEvent(`experiment ignored: ${escapeHtml(e.code ?? "")} ${escapeHtml(e.message)}`);
    layout.experiment = null;
    target.setExperiment(null);
  }
}

async function setMidTerm(on) {
  layout.midTerm = on;
  const old = ranker;
  ranker = await loadRanker();
  old.free();
  logEvent(on ? `<b>mid-term profile on</b>: ${escapeHtml(ranker.stats().midTermProfile)}` : "<b>mid-term profile off</b>");
  rebuild();
}

async function endSession() {
  await ranker.endSession();
  $("log").replaceChildren();
  logEvent(layout.midTerm ? `<b>ended the session</b>: ${ranker.stats().midTermEvents} earlier events kept in this browser` : "<b>ended the session</b> (the mid-term profile is off: nothing kept)");
  render();
}

// ---------- session ----------

function logEvent(text) {
  const li = document.createElement("li");
  li.innerHTML = text;
  $("log").prepend(li);
  while ($("log").children.length > 60) $("log").lastChild.remove();
}

function observe(events) {
  ranker.observe(events);
  for (const e of [events].flat()) {
    const item = itemIndex.get(e.itemId);
    const what = item ? titleOf(item) : e.itemId;
    const secs = e.msPlayed !== undefined ? ` after ${Math.round(e.msPlayed / 1000)} s` : "";
    logEvent(`<b>${e.action}</b> ${escapeHtml(what)}${secs}`);
  }
  render();
}

function startPlaying(id) {
  stopPlaying();
  const item = itemIndex.get(id);
  if (!item) return;
  nowPlaying = { id, startedAt: performance.now(), durationMs: item.durationMs ?? 180000 };
  $("player").hidden = false;
  $("player-title").textContent = titleOf(item);
  $("player-sub").textContent = subtitleOf(item);
  $("player-art").setAttribute("style", artworkStyle(item.embedding));
  nowPlaying.timer = setInterval(tickPlayer, 250);
  tickPlayer();
  // Only the outcome (skip / complete) is logged: what the listener did with the item.
  document.querySelectorAll(".card.playing").forEach((c) => c.classList.remove("playing"));
  document.querySelectorAll(`.card[data-id="${CSS.escape(id)}"]`).forEach((c) => c.classList.add("playing"));
}

function tickPlayer() {
  if (!nowPlaying) return;
  // The demo plays at 10x so a designer does not wait three minutes for a track to end.
  const ms = (performance.now() - nowPlaying.startedAt) * 10;
  const m = Math.floor(ms / 60000);
  const s = Math.floor((ms % 60000) / 1000);
  $("player-time").textContent = `${m}:${String(s).padStart(2, "0")}`;
  $("player-bar").style.width = `${Math.min(100, (100 * ms) / nowPlaying.durationMs)}%`;
}

function stopPlaying() {
  if (nowPlaying?.timer) clearInterval(nowPlaying.timer);
  nowPlaying = null;
}

function playerAction(act) {
  if (!nowPlaying) return;
  const id = nowPlaying.id;
  const elapsed = Math.round((performance.now() - nowPlaying.startedAt) * 10);
  if (act === "like") {
    observe({ itemId: id, action: "like", timestampMs: Date.now() });
    return;
  }
  const msPlayed = act === "complete" ? nowPlaying.durationMs : Math.min(elapsed, nowPlaying.durationMs);
  stopPlaying();
  $("player").hidden = true;
  observe({ itemId: id, action: act, msPlayed, timestampMs: Date.now() });
}

/** One step of the simulated listener: it picks among the visible on-device cards. */
function autoStep() {
  if (layout.source !== "persona") return;
  const shown = lastResult.shelves.flatMap((s) => s.items.slice(0, s.visible).map((i) => i.id));
  const k = sim.choose(shown);
  if (k === undefined) return;
  const id = shown[k];
  const listen = sim.listen(id);
  const events = [{ itemId: id, action: listen.action, msPlayed: Math.round(listen.msPlayed), timestampMs: Date.now() }];
  if (listen.reaction) events.push({ itemId: id, action: listen.reaction, timestampMs: Date.now() });
  observe(events);
  const el = document.querySelector(`#device-home .card[data-id="${CSS.escape(id)}"]`);
  el?.classList.add("playing");
}

function setAuto(on) {
  clearInterval(autoTimer);
  autoTimer = null;
  $("auto").setAttribute("aria-pressed", String(on));
  $("auto").textContent = on ? "❚❚ Pause" : "▶ Auto-listen";
  if (on) autoTimer = setInterval(autoStep, 2600 / Number($("speed").value));
}

// ---------- wiring ----------

function bind() {
  const onLayout = (fn) => (e) => {
    fn(e);
    rebuild();
  };
  $("source").addEventListener("change", onLayout((e) => {
    layout.source = e.target.value === "json" && pastedPage ? "json" : e.target.value;
    if (e.target.value === "json") {
      $("json-field").hidden = false;
      $("persona-field").hidden = true;
    }
  }));
  $("persona").addEventListener("change", onLayout((e) => {
    layout.persona = Number(e.target.value);
    sim.setPersona(layout.persona);
    ranker.forget();
    $("log").replaceChildren();
  }));
  $("shelves").addEventListener("input", onLayout((e) => (layout.shelves = Number(e.target.value))));
  $("cards").addEventListener("input", onLayout((e) => (layout.cards = Number(e.target.value))));
  for (const r of document.querySelectorAll("input[name=size]")) r.addEventListener("change", onLayout((e) => (layout.size = e.target.value)));
  for (const r of document.querySelectorAll("input[name=view]")) r.addEventListener("change", onLayout((e) => (layout.view = e.target.value)));
  $("template").addEventListener("change", onLayout((e) => (layout.template = e.target.value)));
  $("dedup").addEventListener("change", onLayout((e) => (layout.options.dedup = e.target.checked)));
  $("reorder").addEventListener("change", onLayout((e) => (layout.options.reorderShelves = e.target.checked)));
  $("diversity").addEventListener("input", onLayout((e) => (layout.options.maxArtistRun = Number(e.target.value) || null)));
  $("midterm").addEventListener("change", (e) => setMidTerm(e.target.checked));
  $("end-session").addEventListener("click", endSession);
  $("forget").addEventListener("click", () => {
    ranker.forget().catch((e) => logEvent(`could not delete the stored profile: ${escapeHtml(e.message)}`));
    times.length = 0;
    $("log").replaceChildren();
    logEvent("<b>forgot</b> the session");
    render();
  });
  $("auto").addEventListener("click", () => setAuto(!autoTimer));
  $("speed").addEventListener("input", () => autoTimer && setAuto(true));
  for (const b of document.querySelectorAll("#player [data-act]")) b.addEventListener("click", () => playerAction(b.dataset.act));
  $("use-json").addEventListener("click", () => usePageJson($("page-json").value));
  $("page-file").addEventListener("change", async (e) => usePageJson(await e.target.files[0].text()));
  $("export").addEventListener("click", exportLayout);
  $("import").addEventListener("change", async (e) => importLayout(await e.target.files[0].text()));
  $("copy-link").addEventListener("click", async () => {
    saveLayoutToUrl();
    try {
      await navigator.clipboard.writeText(location.href);
      logEvent("<b>copied</b> the link to this layout");
    } catch {
      logEvent("copy the address bar to share this layout");
    }
  });
}

function usePageJson(text) {
  $("json-error").textContent = "";
  try {
    const page = JSON.parse(text);
    // Validate through the ranker itself: strict mode throws the contract's own error.
    ranker.rerank(page, { strict: true });
    pastedPage = page;
    layout.source = "json";
    layout.shelfOrder = [];
    layout.pinned = [];
    ranker.forget();
    rebuild();
  } catch (e) {
    $("json-error").textContent = e.code ? `${e.code}: ${e.message}` : `Not JSON: ${e.message}`;
  }
}

function exportLayout() {
  const data = { homerankLayout: 1, ...layout, page: layout.source === "json" ? pastedPage : undefined };
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "homerank-layout.json";
  a.dataset.testid = "download";
  document.body.append(a);
  a.click();
  a.remove();
  window.__lastExport = data;
}

function importLayout(text) {
  try {
    const data = JSON.parse(text);
    if (data.page) pastedPage = data.page;
    const midTermBefore = layout.midTerm;
    layout = normalizeLayout(data);
    if (layout.source === "json" && !pastedPage) layout.source = "persona";
    sim.setPersona(layout.persona);
    applyExperiment();
    if (layout.midTerm !== midTermBefore) {
      setMidTerm(layout.midTerm);
      return;
    }
    rebuild();
    logEvent("<b>imported</b> a layout");
  } catch (e) {
    logEvent(`import failed: ${escapeHtml(e.message)}`);
  }
}

async function main() {
  for (const [seed, name] of PERSONAS) $("persona").add(new Option(name, String(seed)));
  [ranker, sim] = await Promise.all([loadRanker(), createSimulator(CATALOG_SEED, layout.persona)]);
  bind();
  rebuild();
  // Read-only handles for the end-to-end tests (www/tests/demo.e2e.mjs).
  window.__demo = { get serverPage() { return serverPage; }, get result() { return lastResult; }, get layout() { return layout; } };
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.body.dataset.ready = "error";
  document.querySelector(".homes").insertAdjacentHTML("afterbegin", `<p class="error" role="alert">Could not start: ${escapeHtml(e.code ?? "")} ${escapeHtml(e.message)}</p>`);
});
