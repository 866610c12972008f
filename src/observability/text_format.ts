/**
 * Prometheus' text exposition format (version 0.0.4), what `GET /metrics`
 * answers: `# HELP` and `# TYPE` per metric, one line per sample, histograms
 * as cumulative `_bucket{le}` lines ending at `+Inf`, then `_sum` and
 * `_count`.
 */
import type { AnyMetric, MetricsRegistry } from "./registry.ts";

/** The `Content-Type` of the format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Renders every metric of `registry` (scrape-time gauges are computed first). */
export function renderPrometheus(registry: MetricsRegistry): string {
  const out: string[] = [];
  for (const metric of registry.collect()) renderMetric(metric, out);
  return out.join("");
}

function renderMetric(metric: AnyMetric, out: string[]): void {
  const { name, labelNames } = metric;
  out.push(`# HELP ${name} ${escapeHelp(metric.help)}\n# TYPE ${name} ${metric.type}\n`);
  if (metric.type === "histogram") {
    for (const [values, s] of metric.series()) {
      const labels = labelPairs(labelNames, values);
      const prefix = labels === "" ? "" : `${labels},`;
      let cumulative = 0;
      for (let i = 0; i < s.bounds.length; i++) {
        cumulative += s.counts[i]!;
        out.push(`${name}_bucket{${prefix}le="${formatNumber(s.bounds[i]!)}"} ${cumulative}\n`);
      }
      out.push(`${name}_bucket{${prefix}le="+Inf"} ${s.count}\n`);
      const braces = labels === "" ? "" : `{${labels}}`;
      out.push(`${name}_sum${braces} ${formatNumber(s.sum)}\n`);
      out.push(`${name}_count${braces} ${s.count}\n`);
    }
    return;
  }
  for (const [values, s] of metric.series()) {
    const labels = labelPairs(labelNames, values);
    out.push(`${name}${labels === "" ? "" : `{${labels}}`} ${formatNumber(s.value)}\n`);
  }
}

function labelPairs(names: readonly string[], values: readonly string[]): string {
  let out = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out;
}

/** `# HELP` text: backslash and line feed are escaped. */
export function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** A label value: backslash, double quote and line feed are escaped. */
export function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** A sample value as Prometheus parses it (`+Inf`, `-Inf`, `NaN`, Go-style floats). */
export function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
