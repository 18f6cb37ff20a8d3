// The layout lab's plots as SVG strings: metric differences with intervals, and shelf × position
// heat maps of plays. Pure functions, no DOM.
import { direction } from "./lab-state.js";
import { escapeHtml } from "./names.js";

/** Colour of a difference: green when better, red when worse, blue when neither, grey when n.s. */
export function verdict(m) {
  if (!(m.lo > 0 || m.hi < 0)) return "ns";
  const d = direction(m.key) * Math.sign(m.diff);
  return d > 0 ? "better" : d < 0 ? "worse" : "changed";
}
const COLOURS = { ns: "var(--muted)", better: "var(--up)", worse: "var(--down)", changed: "#7fb2ff" };


/**
 * B − A for each metric relative to A (percent), as a dot with its 95 % interval, one row per
 * metric, around a dashed zero line. Metrics whose A is 0 are drawn in absolute units.
 */
export function diffPlot(metrics, { width = 760, row = 22 } = {}) {
  const left = 230;
  const rel = metrics.map((m) => {
    const base = Math.abs(m.a) > 1e-12 ? Math.abs(m.a) / 100 : 1;
    return { ...m, d: m.diff / base, l: m.lo / base, h: m.hi / base, unit: Math.abs(m.a) > 1e-12 ? "%" : "" };
  });
  const span = Math.max(5, ...rel.map((r) => Math.max(Math.abs(r.l), Math.abs(r.h)))) * 1.1;
  const x = (v) => left + ((v + span) / (2 * span)) * (width - left - 20);
  const height = rel.length * row + 40;
  const parts = [`<svg class="plot" role="img" aria-label="B minus A per metric, relative to A, with 95% intervals" viewBox="0 0 ${width} ${height}" width="100%">`];
  parts.push(`<line class="zero" x1="${x(0)}" x2="${x(0)}" y1="10" y2="${height - 24}"/>`);
  rel.forEach((r, i) => {
    const y = 20 + i * row;
    const colour = COLOURS[verdict(r)];
    parts.push(`<text x="${left - 8}" y="${y + 4}" text-anchor="end">${escapeHtml(r.label)}</text>`);
    parts.push(`<line x1="${x(r.l)}" x2="${x(r.h)}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="3"/>`);
    parts.push(`<circle cx="${x(r.d)}" cy="${y}" r="4.5" fill="${colour}"><title>${escapeHtml(r.label)}: ${r.d.toFixed(1)}${r.unit} [${r.l.toFixed(1)}, ${r.h.toFixed(1)}]</title></circle>`);
  });
  for (const v of [-span, -span / 2, 0, span / 2, span]) {
    parts.push(`<text x="${x(v)}" y="${height - 8}" text-anchor="middle">${v > 0 ? "+" : ""}${v.toFixed(0)} %</text>`);
  }
  parts.push("</svg>");
  return parts.join("");
}

/** One arm's plays by shelf (rows, in the layout's order) and position (columns), darker = more. */
export function heatMap(arm, { cell = 18, positions = 16 } = {}) {
  const left = 170;
  const max = Math.max(1, ...arm.heat.flatMap((r) => r.plays.slice(0, positions)));
  const width = left + positions * cell + 10;
  const height = arm.heat.length * cell + 40;
  const parts = [`<svg class="plot" role="img" aria-label="Plays by shelf and position: ${escapeHtml(arm.name)}" viewBox="0 0 ${width} ${height}" width="100%">`];
  parts.push(`<text x="0" y="12">${escapeHtml(arm.name)}: ${arm.plays} plays</text>`);
  arm.heat.forEach((r, i) => {
    const y = 22 + i * cell;
    parts.push(`<text x="${left - 6}" y="${y + cell * 0.7}" text-anchor="end">${escapeHtml(r.title)}</text>`);
    r.plays.slice(0, positions).forEach((n, j) => {
      const a = n === 0 ? 0.04 : 0.15 + 0.85 * (n / max);
      parts.push(`<rect x="${left + j * cell}" y="${y}" width="${cell - 2}" height="${cell - 2}" rx="2" fill="rgb(30,215,96)" fill-opacity="${a.toFixed(3)}"><title>${escapeHtml(r.title)}, position ${j + 1}: ${n}</title></rect>`);
    });
  });
  for (let j = 0; j < positions; j += 5) parts.push(`<text x="${left + j * cell + cell / 2}" y="${height - 4}" text-anchor="middle">${j + 1}</text>`);
  parts.push("</svg>");
  return parts.join("");
}
