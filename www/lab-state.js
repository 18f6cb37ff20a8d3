// The layout lab's state: two arms (layouts in the demo's format, plus `name` and `rerank`) and a
// population, with its round trip through the URL hash (`#lab=…`). Pure functions, no DOM.
import { encodeLayout, normalizeLayout } from "./layout-state.js";

export const PERSONAS = ["music-first", "podcast-commuter", "audiobook-listener", "playlist-hopper", "explorer"];

// The browsing model's defaults (src/sim/browse.rs, `BrowseModel::default`).
export const BROWSE_DEFAULTS = {
  scrollPatience: 1.0, carouselSwipe: 0.35, positionDecay: 0.92, playAffinity: 3.0, playPopularity: 0.15,
  salience: 0.5, playThreshold: 2.5, secondsPerCard: 0.8, secondsPerScreen: 1.5, secondsPerSwipe: 0.7,
};

/** Whether a rise in a metric is good (+1), bad (−1) or neither (0: shares, depth): the colours of the results. */
export function direction(key) {
  if (["skipRate", "leftWithoutPlay", "secondsToFirstPlay", "scrollToFirstPlay"].includes(key)) return -1;
  if (["playsPerSession", "distinctArtists"].includes(key)) return 1;
  return 0;
}

export function defaultLab() {
  return {
    a: { ...normalizeLayout({}), name: "Server order", rerank: false },
    b: { ...normalizeLayout({}), name: "On-device reranking", rerank: true },
    population: {
      listeners: 1000, sessions: 1, playsPerSession: 10, seed: 1, viewport: { width: 390, height: 844 },
      personas: PERSONAS.map((persona) => ({ persona, weight: 1 })), browse: { ...BROWSE_DEFAULTS },
    },
  };
}

/** An arm from a demo layout (export file or URL state): its fields, a name, reranking on unless it says off. */
export function armFrom(input, fallbackName) {
  const l = normalizeLayout(input ?? {});
  return { ...l, name: typeof input?.name === "string" && input.name ? input.name : fallbackName, rerank: input?.rerank !== false };
}

/** What the wasm lab reads of an arm (the demo-only fields dropped). */
export function labLayout(arm) {
  const { name, shelves, cards, size, template, shelfOrder, pinned, options, rerank } = arm;
  return { name, shelves, cards, size, template, shelfOrder, pinned, options, rerank };
}

export function encodeLab(state) {
  return encodeLayout({ a: labLayout(state.a), b: labLayout(state.b), population: state.population });
}

/** The lab state in a URL hash (`#lab=…`), or null when there is none or it does not parse. */
export function labFromHash(hash) {
  const m = hash.match(/[#&]lab=([^&]+)/);
  if (!m) return null;
  try {
    const data = JSON.parse(decodeURIComponent(escape(atob(m[1].replace(/-/g, "+").replace(/_/g, "/")))));
    const base = defaultLab();
    return {
      a: armFrom(data.a, "A"),
      b: armFrom(data.b, "B"),
      population: { ...base.population, ...data.population, browse: { ...BROWSE_DEFAULTS, ...data.population?.browse } },
    };
  } catch {
    return null;
  }
}
