/**
 * A small reader of the Prometheus text exposition format (what `GET
 * /metrics` answers), and the arithmetic the dashboard needs: sums by
 * label, histograms, quantiles over a window. Pure functions, no DOM, so
 * Deno tests import them directly (`tests/web/prometheus_test.ts`).
 * @module
 */

/**
 * @typedef {object} Sample
 * @property {string} name
 * @property {Record<string, string>} labels
 * @property {number} value
 */

/**
 * @typedef {object} Metrics
 * @property {Map<string, string>} types `# TYPE` of each metric family
 * @property {Sample[]} samples
 */

/**
 * Parses the text format. Lines it cannot read are skipped (a dashboard
 * should show what it can), and counted in `skipped`.
 * @param {string} text
 * @returns {Metrics & {skipped: number}}
 */
export function parsePrometheus(text) {
  /** @type {Map<string, string>} */
  const types = new Map();
  /** @type {Sample[]} */
  const samples = [];
  let skipped = 0;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\w+)/.exec(line);
      if (m) types.set(m[1], m[2]);
      continue;
    }
    const sample = parseSampleLine(line);
    if (sample) samples.push(sample);
    else skipped++;
  }
  return { types, samples, skipped };
}

/**
 * @param {string} line
 * @returns {Sample | null}
 */
function parseSampleLine(line) {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) return null;
  const name = nameMatch[0];
  let i = name.length;
  /** @type {Record<string, string>} */
  const labels = {};
  if (line[i] === "{") {
    i++;
    for (;;) {
      while (line[i] === " " || line[i] === ",") i++;
      if (line[i] === "}") {
        i++;
        break;
      }
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(i));
      if (!labelMatch) return null;
      const label = labelMatch[0];
      i += label.length;
      while (line[i] === " ") i++;
      if (line[i] !== "=") return null;
      i++;
      while (line[i] === " ") i++;
      if (line[i] !== '"') return null;
      i++;
      let value = "";
      for (;;) {
        const c = line[i];
        if (c === undefined) return null;
        if (c === '"') {
          i++;
          break;
        }
        if (c === "\\") {
          const next = line[i + 1];
          value += next === "n" ? "\n" : next ?? "";
          i += 2;
          continue;
        }
        value += c;
        i++;
      }
      labels[label] = value;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  const value = parseValue(rest[0] ?? "");
  if (value === null) return null;
  return { name, labels, value };
}

/**
 * @param {string} s
 * @returns {number | null}
 */
function parseValue(s) {
  if (s === "+Inf" || s === "Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return null;
  return Number(s);
}

/**
 * The samples of metric `name` whose labels include `match`.
 * @param {Metrics} metrics
 * @param {string} name
 * @param {Record<string, string>} [match]
 * @returns {Sample[]}
 */
export function series(metrics, name, match = {}) {
  return metrics.samples.filter((s) =>
    s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v)
  );
}

/**
 * The sum of every series of `name` (matching `match`), or `undefined` when
 * there is none: the dashboard shows "—" then, not a made-up 0.
 * @param {Metrics} metrics
 * @param {string} name
 * @param {Record<string, string>} [match]
 * @returns {number | undefined}
 */
export function total(metrics, name, match) {
  const found = series(metrics, name, match);
  return found.length === 0 ? undefined : found.reduce((n, s) => n + s.value, 0);
}

/**
 * Sums of `name` grouped by the value of `label` (other labels summed over).
 * @param {Metrics} metrics
 * @param {string} name
 * @param {string} label
 * @returns {Map<string, number>}
 */
export function byLabel(metrics, name, label) {
  /** @type {Map<string, number>} */
  const out = new Map();
  for (const s of series(metrics, name)) {
    const key = s.labels[label] ?? "";
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}

/**
 * @typedef {object} Histogram
 * @property {{le: number, count: number}[]} buckets cumulative, sorted by `le`, ending at +Inf
 * @property {number} sum
 * @property {number} count
 */

/**
 * Histogram `name` (its `_bucket`, `_sum`, `_count` series), summed over
 * every other label; `undefined` when it has no buckets.
 * @param {Metrics} metrics
 * @param {string} name
 * @returns {Histogram | undefined}
 */
export function histogram(metrics, name) {
  /** @type {Map<number, number>} */
  const buckets = new Map();
  for (const s of series(metrics, `${name}_bucket`)) {
    const le = parseValue(s.labels.le ?? "");
    if (le === null || Number.isNaN(le)) continue;
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  if (buckets.size === 0) return undefined;
  const sorted = [...buckets].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
  const count = total(metrics, `${name}_count`) ?? sorted.at(-1)?.count ?? 0;
  return { buckets: sorted, sum: total(metrics, `${name}_sum`) ?? 0, count };
}

/**
 * `now − before`, bucket by bucket: the observations made in between. A
 * counter that went down (server restart) gives `now` alone.
 * @param {Histogram} now
 * @param {Histogram | undefined} before
 * @returns {Histogram}
 */
export function histogramDelta(now, before) {
  if (!before || before.count > now.count) return now;
  const old = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: now.buckets.map((b) => ({
      le: b.le,
      count: Math.max(0, b.count - (old.get(b.le) ?? 0)),
    })),
    sum: now.sum - before.sum,
    count: now.count - before.count,
  };
}

/**
 * The `q` quantile (0–1) of a cumulative histogram, interpolated linearly
 * inside the bucket it falls in (as Prometheus' `histogram_quantile`).
 * `undefined` when the histogram is empty.
 * @param {number} q
 * @param {Histogram} h
 * @returns {number | undefined}
 */
export function quantile(q, h) {
  const buckets = h.buckets;
  const count = buckets.at(-1)?.count ?? 0;
  if (count <= 0 || buckets.length === 0) return undefined;
  const rank = q * count;
  let prevLe = 0;
  let prevCount = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return prevLe;
      const inBucket = b.count - prevCount;
      if (inBucket <= 0) return b.le;
      return prevLe + (b.le - prevLe) * ((rank - prevCount) / inBucket);
    }
    prevLe = b.le;
    prevCount = b.count;
  }
  return prevLe;
}
