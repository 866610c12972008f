/**
 * A small line chart in inline SVG (no library, no canvas): one or two
 * series over time, with a zero baseline, a max label and an accessible
 * summary. Built with DOM calls only.
 * @module
 */

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 150;
const PAD_TOP = 14;
const PAD_BOTTOM = 4;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 */
function svg(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/**
 * Draws `series` (each a list of `{t, v}`; `v` may be `null` for a gap) into
 * the `<svg>` element `target`, spanning the last `windowMs`.
 * @param {SVGSVGElement} target
 * @param {{t: number, v: number | null}[][]} series
 * @param {{windowMs: number, format: (v: number) => string, label: string, scale?: HTMLElement}} options
 *   `scale` gets the value of the top line as text
 */
export function drawChart(target, series, options) {
  const now = Date.now();
  const from = now - options.windowMs;
  const values = series.flat().map((p) => p.v).filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(0, ...(/** @type {number[]} */ (values)));
  const top = max > 0 ? niceCeil(max) : 1;
  const x = (/** @type {number} */ t) => ((t - from) / options.windowMs) * WIDTH;
  const y = (/** @type {number} */ v) =>
    PAD_TOP + (HEIGHT - PAD_TOP - PAD_BOTTOM) * (1 - Math.min(v, top) / top);

  target.setAttribute("viewBox", `0 0 ${WIDTH} ${HEIGHT}`);
  target.setAttribute("preserveAspectRatio", "none");
  target.setAttribute("role", "img");
  const children = [
    svg("line", { class: "grid", x1: 0, x2: WIDTH, y1: y(0), y2: y(0) }),
    svg("line", { class: "grid", x1: 0, x2: WIDTH, y1: y(top), y2: y(top) }),
  ];
  if (options.scale) options.scale.textContent = `top line: ${options.format(top)}`;
  series.forEach((points, index) => {
    const visible = points.filter((p) => p.t >= from);
    for (const run of runs(visible)) {
      const d = run.map((p, i) =>
        `${i === 0 ? "M" : "L"}${x(p.t).toFixed(1)},${y(/** @type {number} */ (p.v)).toFixed(1)}`
      )
        .join("");
      if (index === 0 && run.length > 1) {
        const first = run[0];
        const last = run[run.length - 1];
        children.push(svg("path", {
          class: "area",
          d: `${d}L${x(last.t).toFixed(1)},${y(0)}L${x(first.t).toFixed(1)},${y(0)}Z`,
        }));
      }
      children.push(svg("path", { class: index === 0 ? "line" : "line second", d }));
    }
  });
  const latest = series.map((s) => s.findLast((p) => p.v !== null)?.v);
  const title = svg("title", {});
  title.textContent = `${options.label}: latest ${
    latest.map((v) => (v === undefined || v === null ? "none" : options.format(v))).join(", ")
  }`;
  target.replaceChildren(title, ...children);
}

/**
 * Splits points at gaps (`v === null`).
 * @param {{t: number, v: number | null}[]} points
 */
function runs(points) {
  /** @type {{t: number, v: number | null}[][]} */
  const out = [];
  /** @type {{t: number, v: number | null}[]} */
  let current = [];
  for (const p of points) {
    if (p.v === null || !Number.isFinite(p.v)) {
      if (current.length) out.push(current);
      current = [];
    } else current.push(p);
  }
  if (current.length) out.push(current);
  return out;
}

/** @param {number} v */
function niceCeil(v) {
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * exp) return m * exp;
  return 10 * exp;
}
