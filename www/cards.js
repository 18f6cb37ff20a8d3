// The demo's Home rendering: shelves of cards with their moves (▲/▼), score bars and a FLIP
// animation from where each shelf and card was. Its only state: the moves each Home is making.
import { artworkStyle, glyph, titleOf, subtitleOf } from "./names.js";

function card(item, { result, maxScore, minScore, visible }, { playingId, onPlay }) {
  const el = document.createElement("button");
  el.type = "button";
  el.className = "card" + (visible ? "" : " hidden-slot") + (playingId === item.id ? " playing" : "");
  el.dataset.id = item.id;
  el.dataset.testid = "card";
  const title = titleOf(item);
  el.setAttribute("aria-label", `${title}, ${item.type ?? "item"}${result ? `, rank ${result.newRank + 1}, was ${result.serverRank + 1}` : ""}. Play`);
  const art = document.createElement("div");
  art.className = "art";
  art.setAttribute("style", artworkStyle(item.embedding));
  art.innerHTML = `<span class="glyph" aria-hidden="true">${glyph(item.type)}</span>`;
  el.append(art);
  const badge = document.createElement("span");
  badge.className = "type";
  badge.textContent = item.type ?? "other";
  el.append(badge);
  if (result && result.score !== null) {
    const delta = result.serverRank - result.newRank;
    if (delta !== 0) {
      const mv = document.createElement("span");
      mv.className = `move ${delta > 0 ? "up" : "down"}`;
      mv.textContent = `${delta > 0 ? "▲" : "▼"}${Math.abs(delta)}`;
      mv.setAttribute("aria-hidden", "true");
      el.append(mv);
    }
  }
  const t = document.createElement("div");
  t.className = "title";
  t.textContent = title;
  const sub = document.createElement("div");
  sub.className = "sub";
  sub.textContent = subtitleOf(item);
  el.append(t, sub);
  if (result && result.score !== null && maxScore > minScore) {
    const bar = document.createElement("div");
    bar.className = "score";
    bar.title = `score ${result.score.toFixed(3)}`;
    bar.innerHTML = `<i style="width:${(100 * (result.score - minScore)) / (maxScore - minScore)}%"></i>`;
    el.append(bar);
  }
  el.addEventListener("click", () => onPlay(item.id));
  return el;
}

const MOVE = { duration: 450, easing: "cubic-bezier(.2,.8,.2,1)" };
const moving = new WeakMap();   // container -> the animations of its latest render

/**
 * Where every shelf and card of `container` is drawn now, running animations included: shelves
 * in the page, cards relative to their shelf (so a shelf and its cards move as one), and each
 * row's scroll.
 */
function measure(container) {
  const shelves = new Map();
  const cards = new Map();
  for (const sec of container.querySelectorAll(".shelf")) {
    const box = sec.getBoundingClientRect();
    shelves.set(sec.dataset.shelf, { box, scrollLeft: sec.querySelector(".cards").scrollLeft });
    for (const c of sec.querySelectorAll(".card")) cards.set(c.dataset.key, offsetIn(c, box));
  }
  return { shelves, cards };
}

function offsetIn(el, box) {
  const r = el.getBoundingClientRect();
  return { x: r.left - box.left, y: r.top - box.top };
}

function restoreScroll(container, before) {
  for (const sec of container.querySelectorAll(".shelf")) {
    const was = before.shelves.get(sec.dataset.shelf);
    if (was) sec.querySelector(".cards").scrollLeft = was.scrollLeft;
  }
}

/** The moves from the measured places to the rendered ones: shelves first, then their cards. */
function movesFrom(container, before) {
  const moves = [];
  for (const sec of container.querySelectorAll(".shelf")) {
    const was = before.shelves.get(sec.dataset.shelf);
    if (!was) continue;
    const box = sec.getBoundingClientRect();
    moves.push([sec, was.box.left - box.left, was.box.top - box.top]);
    for (const c of sec.querySelectorAll(".card")) {
      const old = before.cards.get(c.dataset.key);
      if (!old) continue;
      const now = offsetIn(c, box);
      moves.push([c, old.x - now.x, old.y - now.y]);
    }
  }
  return moves.filter(([, dx, dy]) => Math.abs(dx) >= 0.5 || Math.abs(dy) >= 0.5);
}

function slide([el, dx, dy]) {
  return el.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], MOVE);
}

// Scroll snapping follows transformed cards: while cards move, a row would scroll along with
// the card it snapped to and drag the others with it. `.moving` turns snapping off until they land.
function holdSnapWhileMoving(container, animations) {
  moving.set(container, animations);
  container.classList.toggle("moving", animations.length > 0);
  Promise.allSettled(animations.map((a) => a.finished)).then(() => {
    if (moving.get(container) === animations) container.classList.remove("moving");
  });
}

function shelfSection(shelf, { device, maxScore, minScore, playingId, onPlay }) {
  const sec = document.createElement("section");
  sec.className = "shelf";
  sec.dataset.shelf = shelf.id;
  sec.dataset.testid = "shelf";
  const head = document.createElement("div");
  head.className = "shelf-head";
  const h = document.createElement("h3");
  h.textContent = shelf.title || shelf.id;
  head.append(h);
  if (shelf.pinned) head.insertAdjacentHTML("beforeend", `<span class="badge-pin">⚑ pinned</span>`);
  if (device && shelf.serverRank !== undefined && shelf.serverRank !== shelf.newRank) {
    const d = shelf.serverRank - shelf.newRank;
    head.insertAdjacentHTML("beforeend", `<span class="shelf-move ${d > 0 ? "up" : "down"}">${d > 0 ? "▲" : "▼"}${Math.abs(d)}</span>`);
  }
  sec.append(head);
  const row = document.createElement("div");
  row.className = "cards";
  shelf.items.forEach((entry, k) => {
    const el = card(entry.item, { result: entry.result, maxScore, minScore, visible: k < shelf.visible }, { playingId, onPlay });
    el.dataset.key = `${shelf.id}/${entry.item.id}`;
    row.append(el);
  });
  sec.append(row);
  return sec;
}

/**
 * Renders `shelves` (`{ id, title, pinned, visible, serverRank?, newRank?, items: [{ item, result }] }`)
 * into `container` with the layout's card size and template; shelves and cards that moved
 * animate from where they are drawn, so a render during a move takes it over from there.
 * `playingId` marks the playing card; `onPlay(id)` is called when a card is clicked.
 */
export function renderHome(container, shelves, { device, size, template, playingId, onPlay }) {
  // FLIP: measure where everything is drawn, stop the moves in flight, render, animate from there.
  const before = measure(container);
  for (const a of container.getAnimations({ subtree: true })) a.cancel();
  let maxScore = -Infinity;
  let minScore = Infinity;
  for (const s of shelves) for (const i of s.items) if (i.result?.score != null) {
    maxScore = Math.max(maxScore, i.result.score);
    minScore = Math.min(minScore, i.result.score);
  }
  container.className = `size-${size} ${template}`;
  container.replaceChildren(...shelves.map((shelf) => shelfSection(shelf, { device, maxScore, minScore, playingId, onPlay })));
  restoreScroll(container, before);
  if (matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  holdSnapWhileMoving(container, movesFrom(container, before).map(slide));
}
