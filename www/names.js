// Display names and artwork for catalogue items, derived from ids and embeddings (no images,
// no network): the same item always gets the same title and gradient.

const ADJ = ["Midnight", "Golden", "Velvet", "Electric", "Quiet", "Neon", "Paper", "Silver", "Wild", "Hollow", "Crimson",
  "Lunar", "Broken", "Distant", "Hidden", "Summer", "Winter", "Slow", "Bright", "Second", "Northern", "Glass", "Open", "Last"];
const NOUN = ["Echoes", "Rivers", "Static", "Horizons", "Lanterns", "Gardens", "Signals", "Tides", "Cities", "Mirrors",
  "Motels", "Orbits", "Letters", "Parades", "Forests", "Engines", "Harbors", "Windows", "Satellites", "Dreams"];
const SHOW = ["The Daily Drift", "Deep Cuts", "Small Talk Big Ideas", "Night Shift", "Field Notes", "The Long Game",
  "Second Opinion", "Open Tabs", "History Hour", "Pocket Science"];
const BOOK = ["The Glass Orchard", "A Map of Salt", "Northern Lights", "The Quiet Engineer", "Letters to Ada",
  "The Last Lighthouse", "Paper Moons", "Winter Harbor", "The Clockmaker", "Small Gods of August"];
const MOOD = ["Focus", "Late Night", "Sunday Morning", "Workout", "Road Trip", "Rainy Day", "Deep Chill", "Throwback", "Dinner", "Fresh Finds"];

function hash(s) {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

const pick = (list, h) => list[h % list.length];
const num = (id) => Number(id.split(":").pop()) || hash(id) % 100;

export function titleOf(item) {
  const h = hash(item.id);
  switch (item.type) {
    case "track": return `${pick(ADJ, h)} ${pick(NOUN, h >>> 8)}`;
    case "episode": return `${pick(SHOW, h)} — Ep. ${1 + (num(item.id) % 180)}`;
    case "audiobook": return `${pick(BOOK, h)}, ch. ${1 + (num(item.id) % 24)}`;
    case "playlist": return `${pick(MOOD, h)} Mix`;
    default: return item.id;
  }
}

export function subtitleOf(item) {
  const who = item.artistId ? creatorName(item.artistId) : "";
  const mins = item.durationMs ? `${Math.round(item.durationMs / 60000)} min` : "";
  return [who, mins].filter(Boolean).join(" · ");
}

export function creatorName(id) {
  const h = hash(id);
  const [kind] = id.split(":");
  if (kind === "show") return pick(SHOW, h);
  if (kind === "author") return `${pick(["A.", "J.", "M.", "R.", "S.", "E."], h)} ${pick(["Okafor", "Lindqvist", "Moreau", "Tanaka", "Brennan", "Varga", "Castillo", "Novak"], h >>> 6)}`;
  if (kind === "curator") return "homerank";
  return `The ${pick(ADJ, h)} ${pick(NOUN, h >>> 5)}`;
}

export function glyph(type) {
  // Plain Unicode symbols: present in every system font, unlike emoji.
  return { track: "♪", episode: "◍", audiobook: "▤", playlist: "☰", album: "◎", artist: "★", show: "◍" }[type] ?? "•";
}

/** A two-colour gradient whose hues follow the embedding, so similar items look alike. */
export function artworkStyle(embedding) {
  const e = embedding ?? [];
  const at = (i) => e[i % Math.max(1, e.length)] ?? 0;
  const hue1 = ((Math.atan2(at(0) + at(4) + at(8), at(1) + at(5) + at(9)) / Math.PI) * 180 + 360) % 360;
  const hue2 = (hue1 + 40 + ((Math.atan2(at(2) + at(6), at(3) + at(7)) / Math.PI) * 60 + 60)) % 360;
  const angle = Math.round(((at(10) + 1) * 90 + 360) % 360);
  return `background: radial-gradient(circle at 30% 25%, hsla(${hue2.toFixed(0)}, 85%, 70%, .55), transparent 55%),` +
    ` linear-gradient(${angle}deg, hsl(${hue1.toFixed(0)}, 62%, 40%), hsl(${hue2.toFixed(0)}, 58%, 22%));`;
}

/** `s` as HTML text: &, <, > and " escaped. */
export function escapeHtml(s) {
  return String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
}
