// The layout lab page: two layouts, a population, a run in a Worker with progress and cancel,
// and the results (table, plots, per persona, heat maps), exportable and shareable by link.
import { createSimulator } from "../js/index.js";
import { BROWSE_DEFAULTS, PERSONAS, armFrom, defaultLab, encodeLab, labFromHash, labLayout } from "./lab-state.js";
import { diffPlot, heatMap, verdict } from "./lab-plots.js";
import { escapeHtml } from "./names.js";

const $ = (id) => document.getElementById(id);

let state = labFromHash(location.hash) ?? defaultLab();
let shelfCatalogue = [];   // [{ id, title }] of the simulated server's shelves, in server order
let worker = null;
let last = null;           // { report, csv, seconds }

// ---------- arms ----------

/** The arm's shelves as shown: the designer's order first, then the server's, `shelves` of them. */
function shelvesOf(arm) {
  const all = shelfCatalogue.slice(0, arm.shelves);
  const ordered = arm.shelfOrder.map((id) => all.find((s) => s.id === id)).filter(Boolean);
  return [...ordered, ...all.filter((s) => !arm.shelfOrder.includes(s.id))];
}

function renderArm(key) {
  const arm = state[key];
  const form = $(`arm-${key}`);
  form.innerHTML = `
    <h2>Layout ${key.toUpperCase()}<input name="name" aria-label="Name of layout ${key.toUpperCase()}" data-testid="name-${key}"></h2>
    <div class="grid2">
      <label class="field">Shelf template
        <select name="template"><option value="carousel">Carousels</option><option value="grid">Grids</option><option value="hero">Hero + rows</option></select>
      </label>
      <label class="field">Card size
        <select name="size"><option value="s">S</option><option value="m">M</option><option value="l">L</option></select>
      </label>
      <label class="field">Shelves <output name="shelves-out"></output><input name="shelves" type="range" min="1" max="12"></label>
      <label class="field">Cards per shelf <output name="cards-out"></output><input name="cards" type="range" min="3" max="30"></label>
    </div>
    <label class="check"><input name="rerank" type="checkbox" data-testid="rerank-${key}"> On-device reranking</label>
    <label class="check"><input name="dedup" type="checkbox"> Show each item once (dedup)</label>
    <label class="check"><input name="reorder" type="checkbox"> Reorder unpinned shelves</label>
    <label class="field">Artist diversity: at most <output name="div-out"></output> in a row<input name="diversity" type="range" min="0" max="5"></label>
    <div class="field"><span>Shelves (order and pins)</span><ol class="shelf-list" data-testid="shelves-${key}"></ol></div>
    <div class="row">
      <label class="btn ghost file">Import layout…<input name="import" type="file" accept="application/json,.json"></label>
      <button type="button" class="btn ghost" name="copy-other">Copy from ${key === "a" ? "B" : "A"}</button>
    </div>
    <p class="error" role="alert"></p>`;
  const f = form.elements;
  f.name.value = arm.name;
  f.template.value = arm.template;
  f.size.value = arm.size;
  f.shelves.value = arm.shelves;
  f["shelves-out"].value = arm.shelves;
  f.cards.value = arm.cards;
  f["cards-out"].value = arm.cards;
  f.rerank.checked = arm.rerank;
  f.dedup.checked = arm.options.dedup;
  f.reorder.checked = arm.options.reorderShelves;
  f.diversity.value = arm.options.maxArtistRun ?? 0;
  f["div-out"].value = arm.options.maxArtistRun ?? "off";
  const list = form.querySelector(".shelf-list");
  shelvesOf(arm).forEach((s, i, shown) => {
    const li = document.createElement("li");
    li.dataset.id = s.id;
    const pinned = arm.pinned.includes(s.id);
    li.innerHTML = `<span class="name"></span>
      <button type="button" class="icon-btn" data-move="-1" aria-label="Move ${escapeHtml(s.title)} up">↑</button>
      <button type="button" class="icon-btn" data-move="1" aria-label="Move ${escapeHtml(s.title)} down">↓</button>
      <button type="button" class="icon-btn" data-pin aria-pressed="${pinned}" aria-label="Pin ${escapeHtml(s.title)}">⚑</button>`;
    li.querySelector(".name").textContent = s.title;
    li.addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (!b) return;
      if (b.dataset.pin !== undefined) {
        arm.pinned = pinned ? arm.pinned.filter((p) => p !== s.id) : [...arm.pinned, s.id];
      } else {
        const order = shown.map((x) => x.id);
        const to = i + Number(b.dataset.move);
        if (to < 0 || to >= order.length) return;
        [order[i], order[to]] = [order[to], order[i]];
        arm.shelfOrder = order;
      }
      changed(key);
    });
    list.append(li);
  });
}

function bindArm(key) {
  const form = $(`arm-${key}`);
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("input", (e) => {
    const arm = state[key];
    const t = e.target;
    switch (t.name) {
      case "name": arm.name = t.value; saveToUrl(); return;
      case "template": arm.template = t.value; break;
      case "size": arm.size = t.value; break;
      case "shelves": arm.shelves = Number(t.value); break;
      case "cards": arm.cards = Number(t.value); break;
      case "rerank": arm.rerank = t.checked; break;
      case "dedup": arm.options.dedup = t.checked; break;
      case "reorder": arm.options.reorderShelves = t.checked; break;
      case "diversity": arm.options.maxArtistRun = Number(t.value) || null; break;
      default: return;
    }
    changed(key);
  });
  form.addEventListener("change", async (e) => {
    if (e.target.name !== "import") return;
    try {
      const data = JSON.parse(await e.target.files[0].text());
      state[key] = armFrom(data, state[key].name);
      changed(key);
    } catch (err) {
      form.querySelector(".error").textContent = `Not a layout file: ${err.message}`;
    }
  });
  form.addEventListener("click", (e) => {
    if (e.target.name !== "copy-other") return;
    const other = state[key === "a" ? "b" : "a"];
    state[key] = { ...structuredClone(other), name: state[key].name };
    changed(key);
  });
}

function changed(key) {
  renderArm(key);
  saveToUrl();
}

// ---------- population ----------

function renderPopulation() {
  const p = state.population;
  $("listeners").value = p.listeners;
  $("plays").value = p.playsPerSession;
  $("sessions").value = p.sessions;
  $("seed").value = p.seed;
  $("viewport").value = `${p.viewport.width}x${p.viewport.height}`;
  $("personas").innerHTML = PERSONAS.map((name) => {
    const w = p.personas.find((x) => x.persona === name)?.weight ?? 0;
    return `<label class="field">${name}<input type="number" min="0" step="0.5" value="${w}" data-persona="${name}"></label>`;
  }).join("");
  $("browse").innerHTML = Object.keys(BROWSE_DEFAULTS).map((k) =>
    `<label class="field">${k}<input type="number" step="0.01" value="${p.browse[k]}" data-browse="${k}"></label>`).join("");
}

function readPopulation() {
  const p = state.population;
  p.listeners = Math.max(10, Math.round(Number($("listeners").value) || 1000));
  p.playsPerSession = Math.max(1, Math.round(Number($("plays").value) || 10));
  p.sessions = Math.max(1, Math.round(Number($("sessions").value) || 1));
  p.seed = Math.max(0, Math.round(Number($("seed").value) || 0));
  const [width, height] = $("viewport").value.split("x").map(Number);
  p.viewport = { width, height };
  p.personas = [...document.querySelectorAll("[data-persona]")].map((i) => ({ persona: i.dataset.persona, weight: Math.max(0, Number(i.value) || 0) }));
  for (const i of document.querySelectorAll("[data-browse]")) p.browse[i.dataset.browse] = Number(i.value);
  saveToUrl();
}

function saveToUrl() {
  history.replaceState(null, "", `#lab=${encodeLab(state)}`);
}

// ---------- running ----------

function run() {
  readPopulation();
  cancel(false);
  $("results").hidden = true;
  $("run-status").textContent = "starting…";
  $("cancel").disabled = false;
  $("run").disabled = true;
  $("progress").value = 0;
  worker = new Worker(new URL("./lab-worker.js", import.meta.url), { type: "module" });
  worker.onmessage = ({ data }) => {
    if (data.type === "progress") {
      $("progress").value = data.done / data.total;
      $("progress-text").textContent = `${data.done.toLocaleString()} / ${data.total.toLocaleString()} listeners`;
      $("run-status").textContent = "running";
    } else if (data.type === "done") {
      last = data;
      finish(`done in ${data.seconds.toFixed(1)} s`);
      renderResults(data.report);
    } else {
      finish(`failed: ${data.code} ${data.message}`);
    }
  };
  worker.onerror = (e) => finish(`failed: ${e.message}`);
  worker.postMessage({ a: labLayout(state.a), b: labLayout(state.b), population: state.population });
}

function finish(status) {
  worker?.terminate();
  worker = null;
  $("cancel").disabled = true;
  $("run").disabled = false;
  $("run-status").textContent = status;
  $("export-csv").disabled = !last;
  $("export-json").disabled = !last;
}

function cancel(say = true) {
  if (!worker) return;
  finish(say ? "cancelled" : "");
}

// ---------- results ----------

const fmt = (v, key) => (/^share|skipRate|leftWithout/.test(key) ? `${(100 * v).toFixed(1)} %` : v.toFixed(2));
const fmtDiff = (v, key) => (/^share|skipRate|leftWithout/.test(key) ? `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)} pt` : `${v >= 0 ? "+" : ""}${v.toFixed(2)}`);

function metricRows(metrics) {
  return metrics.map((m) => {
    const cls = verdict(m);
    const sig = cls !== "ns";
    return `<td>${fmt(m.a, m.key)}</td><td>${fmt(m.b, m.key)}</td><td class="${cls}">${fmtDiff(m.diff, m.key)}</td>` +
      `<td class="${cls}">[${fmtDiff(m.lo, m.key)}, ${fmtDiff(m.hi, m.key)}]${sig ? "" : " n.s."}</td>`;
  });
}

function renderResults(report) {
  const [a, b] = report.arms;
  $("results").hidden = false;
  $("results-title").textContent = `${a.name} (A) vs ${b.name} (B): ${report.listeners.toLocaleString()} simulated listeners`;
  $("results-note").textContent = `Paired: every listener saw both layouts with the same random draws. Intervals: 95 % bootstrap over listeners ` +
    `(${report.population.bootstrap} resamples). Model ${report.modelId}. A simulation under the browsing model's assumptions above, ` +
    `not a measurement of real listeners.`;
  $("diff-plot").innerHTML = diffPlot(report.metrics);
  const rows = metricRows(report.metrics);
  $("metrics").innerHTML = `<thead><tr><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>95 % interval</th></tr></thead><tbody>` +
    report.metrics.map((m, i) => `<tr data-key="${m.key}"><td>${escapeHtml(m.label)}</td>${rows[i]}</tr>`).join("") + "</tbody>";
  $("personas-table").innerHTML = `<thead><tr><th>persona</th><th>listeners</th><th>metric</th><th>A</th><th>B</th><th>B − A</th><th>95 % interval</th></tr></thead><tbody>` +
    report.personas.flatMap((p) => {
      const r = metricRows(p.metrics);
      return p.metrics.map((m, i) => `<tr><td>${p.persona}</td><td>${p.listeners}</td><td>${escapeHtml(m.label)}</td>${r[i]}</tr>`);
    }).join("") + "</tbody>";
  $("heat").innerHTML = heatMap(a) + heatMap(b);
}

function download(name, type, text) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
}

// ---------- wiring ----------

async function main() {
  const sim = await createSimulator(state.population.catalogSeed ?? 7, 1);
  shelfCatalogue = sim.homePage(12, 3).shelves.map((s) => ({ id: s.id, title: s.title }));
  sim.free();
  for (const key of ["a", "b"]) {
    renderArm(key);
    bindArm(key);
  }
  renderPopulation();
  document.querySelector(".population").addEventListener("change", readPopulation);
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", () => cancel());
  $("export-csv").addEventListener("click", () => download("homerank-layout-ab.csv", "text/csv", last.csv));
  $("export-json").addEventListener("click", () => download("homerank-layout-ab.json", "application/json", JSON.stringify(last.report, null, 2)));
  $("copy-link").addEventListener("click", async () => {
    saveToUrl();
    try {
      await navigator.clipboard.writeText(location.href);
      $("run-status").textContent = "link copied";
    } catch {
      $("run-status").textContent = "copy the address bar to share this comparison";
    }
  });
  saveToUrl();
  // Read-only handles for the end-to-end tests (www/tests/lab.test.mjs).
  window.__lab = { get state() { return state; }, get last() { return last; }, get running() { return worker !== null; } };
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  document.body.dataset.ready = "error";
  document.querySelector(".lab").insertAdjacentHTML("afterbegin", `<p class="error" role="alert">Could not start: ${escapeHtml(e.code ?? "")} ${escapeHtml(e.message)}</p>`);
});
