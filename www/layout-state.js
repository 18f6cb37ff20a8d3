// The demo's layout state: its defaults, validation, and its round trip through a URL-safe
// string (the URL hash and the export file carry it). Pure functions, no DOM.

export const DEFAULT_LAYOUT = {
  source: "persona",
  persona: 1,
  shelves: 6,
  cards: 12,
  size: "m",
  template: "carousel",
  shelfOrder: [],     // shelf ids in the designer's order (missing ids keep the server's order)
  pinned: [],         // shelf ids held in place
  options: { dedup: true, reorderShelves: true, maxArtistRun: null },
  view: "side",
  midTerm: false,     // keep a mid-term profile in this browser (IndexedDB) across reloads
  experiment: null,   // an experiment for the ranker (the package's format), shown as its arm
};

/** A layout as a URL-safe base64 string. */
export function encodeLayout(l) {
  return btoa(unescape(encodeURIComponent(JSON.stringify(l)))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The layout in a URL hash (`#layout=…`), or null when there is none or it does not parse. */
export function layoutFromHash(hash) {
  const m = hash.match(/[#&]layout=([^&]+)/);
  if (!m) return null;
  try {
    const json = decodeURIComponent(escape(atob(m[1].replace(/-/g, "+").replace(/_/g, "/"))));
    return normalizeLayout(JSON.parse(json));
  } catch {
    return null;
  }
}

/** Fills missing fields with defaults and clamps numbers, so any imported layout is usable. */
export function normalizeLayout(input) {
  const l = structuredClone(DEFAULT_LAYOUT);
  for (const key of Object.keys(l)) if (input[key] !== undefined) l[key] = input[key];
  l.options = { ...DEFAULT_LAYOUT.options, ...(input.options ?? {}) };
  l.shelves = Math.min(12, Math.max(1, Number(l.shelves) || 6));
  l.cards = Math.min(30, Math.max(3, Number(l.cards) || 12));
  if (!["s", "m", "l"].includes(l.size)) l.size = "m";
  if (!["carousel", "grid", "hero"].includes(l.template)) l.template = "carousel";
  if (!Array.isArray(l.shelfOrder)) l.shelfOrder = [];
  if (!Array.isArray(l.pinned)) l.pinned = [];
  l.midTerm = l.midTerm === true;
  if (typeof l.experiment !== "object" || Array.isArray(l.experiment)) l.experiment = null;
  return l;
}
