// The demo's Home rendering: shelves of cards with their moves (▲/▼), score bars and a FLIP
// animation from where each card was. No state of its own.
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

/**
 * Renders `shelves` (`{ id, title, pinned, visible, serverRank?, newRank?, items: [{ item, result }] }`)
 * into `container` with the layout's card size and template; cards that moved animate from their
 * old place. `playingId` marks the playing card; `onPlay(id)` is called when a card is clicked.
 */
export function renderHome(container, shelves, { device, size, template, playingId, onPlay }) {
  // FLIP: remember where every card was, move the DOM, then animate from the old place.
  const before = new Map();
  for (const c of container.querySelectorAll(".card")) before.set(c.dataset.key, c.getBoundingClientRect());
  container.className = `size-${size} ${template}`;
  container.replaceChildren();
  let maxScore = -Infinity;
  let minScore = Infinity;
  for (const s of shelves) for (const i of s.items) if (i.result?.score != null) {
    maxScore = Math.max(maxScore, i.result.score);
    minScore = Math.min(minScore, i.result.score);
  }
  for (const shelf of shelves) {
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
    container.append(sec);
  }
  if (matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  for (const c of container.querySelectorAll(".card")) {
    const old = before.get(c.dataset.key);
    if (!old) continue;
    const now = c.getBoundingClientRect();
    const dx = old.left - now.left;
    const dy = old.top - now.top;
    if (dx || dy) {
      c.animate([{ transform: `translate(${dx}px, ${dy}px)` }, { transform: "none" }], { duration: 450, easing: "cubic-bezier(.2,.8,.2,1)" });
    }
  }
}
