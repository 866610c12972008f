/**
 * A small in-process metrics registry: counters, gauges and histograms with
 * BOUNDED label sets, rendered in Prometheus' text format by `text_format.ts`.
 *
 * Bounded by construction: every label is declared with the closed list of
 * values it may take; any other value is recorded as `other`. So a client
 * that sends random message types or paths can never grow the registry, and
 * ids or user text cannot become series.
 *
 * Cheap on hot paths: `labels()` walks one `Map` per label (no allocation
 * once a series exists; keep the returned series to skip even that), and
 * `inc()`/`observe()` are property adds. Values are plain numbers (exact
 * integers up to 2^53).
 */

/** The label value that stands for every value outside a label's list. */
export const OTHER = "other";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label names mapped to the closed list of values each may take (`other` is added). */
export type LabelSpec = Readonly<Record<string, readonly string[]>>;

interface MetricOptions {
  /** Prometheus metric name (`yychat_…`); counters end in `_total`. */
  name: string;
  /** One line saying what is measured (shown as `# HELP`). */
  help: string;
  /** Label names and their allowed values, in label order. Omit for one unlabelled series. */
  labels?: LabelSpec;
}

export type CounterOptions = MetricOptions;
export type GaugeOptions = MetricOptions;
export interface HistogramOptions extends MetricOptions {
  /** Upper bounds of the buckets, ascending and finite (`+Inf` is implicit). */
  buckets: readonly number[];
}

export type MetricType = "counter" | "gauge" | "histogram";

/** One series of a counter: only goes up. */
export class CounterSeries {
  value = 0;
  /** Adds `n` (default 1). @throws {RangeError} when `n` is negative or not a number */
  inc(n = 1): void {
    if (!(n >= 0)) throw new RangeError(`Cannot increase a counter by ${n}: must be >= 0`);
    this.value += n;
  }
}

/** One series of a gauge: a value that goes up and down. */
export class GaugeSeries {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** One series of a histogram: per-bucket counts (not cumulative until rendered), sum, count. */
export class HistogramSeries {
  readonly bounds: readonly number[];
  /** `counts[i]`: observations in (bounds[i-1], bounds[i]]; the last slot is over every bound. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  /** Records one observation (seconds, bytes…). NaN is ignored. */
  observe(value: number): void {
    if (value !== value) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

type Series = CounterSeries | GaugeSeries | HistogramSeries;

/**
 * What every metric shares: name, help, declared labels and the series
 * created so far, kept in a trie of maps (one level per label) so a lookup
 * allocates nothing.
 */
abstract class Metric<S extends Series> {
  abstract readonly type: MetricType;
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #allowed: readonly ReadonlySet<string>[];
  readonly #root = new Map<string, unknown>();
  #unlabelled: S | undefined;
  /** Exactly one label. */
  readonly #single: boolean;

  constructor(options: MetricOptions) {
    if (!METRIC_NAME.test(options.name)) {
      throw new TypeError(`Invalid metric name "${options.name}"`);
    }
    const spec = options.labels ?? {};
    for (const label of Object.keys(spec)) {
      if (!LABEL_NAME.test(label) || label.startsWith("__")) {
        throw new TypeError(`Invalid label name "${label}" on metric "${options.name}"`);
      }
    }
    this.name = options.name;
    this.help = options.help;
    this.labelNames = Object.keys(spec);
    this.#allowed = this.labelNames.map((l) => new Set([...spec[l]!, OTHER]));
    this.#single = this.labelNames.length === 1;
  }

  protected abstract create(): S;

  /**
   * The series for these label values, in label order. A value outside its
   * label's list is recorded as `other`. Keep the result to skip the lookup.
   *
   * @throws {RangeError} when the number of values differs from the number of labels
   */
  labels(a?: string, b?: string, c?: string, d?: string): S {
    // Fast path of the hot paths (one label, a value seen before): one Map lookup.
    if (this.#single && b === undefined && a !== undefined) {
      const hit = this.#root.get(a);
      if (hit !== undefined) return hit as S;
    }
    const n = this.labelNames.length;
    const given = a === undefined
      ? 0
      : b === undefined
      ? 1
      : c === undefined
      ? 2
      : d === undefined
      ? 3
      : 4;
    if (given !== n) {
      throw new RangeError(
        `Metric "${this.name}" has ${n} label(s) (${
          this.labelNames.join(", ")
        }), got ${given} value(s)`,
      );
    }
    if (n === 0) return this.#unlabelled ??= this.create();
    let node = this.#root;
    for (let i = 0; i < n; i++) {
      const raw = i === 0 ? a! : i === 1 ? b! : i === 2 ? c! : d!;
      let next = node.get(raw);
      if (next === undefined) {
        const value = this.#allowed[i]!.has(raw) ? raw : OTHER;
        next = node.get(value);
        if (next === undefined) {
          next = i === n - 1 ? this.create() : new Map<string, unknown>();
          node.set(value, next);
        }
      }
      if (i === n - 1) return next as S;
      node = next as Map<string, unknown>;
    }
    throw new RangeError("unreachable");
  }

  /** Every series created so far with its label values, sorted by label values. */
  series(): [readonly string[], S][] {
    if (this.labelNames.length === 0) return [[[], this.labels()]];
    const out: [string[], S][] = [];
    const walk = (node: Map<string, unknown>, prefix: string[]) => {
      const keys = [...node.keys()].sort();
      for (const key of keys) {
        const child = node.get(key);
        if (prefix.length + 1 === this.labelNames.length) out.push([[...prefix, key], child as S]);
        else walk(child as Map<string, unknown>, [...prefix, key]);
      }
    };
    walk(this.#root, []);
    return out;
  }
}

/** A monotonically increasing count (requests, errors, tokens). */
export class Counter extends Metric<CounterSeries> {
  readonly type = "counter";
  constructor(options: CounterOptions) {
    super(options);
    if (!options.name.endsWith("_total")) {
      throw new TypeError(`Counter "${options.name}" must end in "_total"`);
    }
  }
  protected create(): CounterSeries {
    return new CounterSeries();
  }
  /** Adds `n` to the unlabelled series. */
  inc(n = 1): void {
    this.labels().inc(n);
  }
}

/** A value that goes up and down, set as things happen or computed at scrape time. */
export class Gauge extends Metric<GaugeSeries> {
  readonly type = "gauge";
  #collect: ((gauge: Gauge) => void) | undefined;
  protected create(): GaugeSeries {
    return new GaugeSeries();
  }
  set(value: number): void {
    this.labels().set(value);
  }
  inc(n = 1): void {
    this.labels().inc(n);
  }
  dec(n = 1): void {
    this.labels().dec(n);
  }
  /**
   * Computes the gauge at scrape time: `fn` is called before each render and
   * sets the series (`g.set(n)`, `g.labels("x").set(n)`). Replaces any
   * earlier callback, so a later owner (cluster mode) can take over.
   */
  collect(fn: (gauge: Gauge) => void): void {
    this.#collect = fn;
  }
  /** Runs the scrape-time callback, if any. */
  refresh(): void {
    this.#collect?.(this);
  }
}

/** Observations counted into fixed buckets (latencies, durations). */
export class Histogram extends Metric<HistogramSeries> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  constructor(options: HistogramOptions) {
    super(options);
    const b = options.buckets;
    if (b.length === 0 || b.some((v, i) => !Number.isFinite(v) || (i > 0 && v <= b[i - 1]!))) {
      throw new TypeError(
        `Histogram "${options.name}" needs finite buckets in strictly ascending order`,
      );
    }
    if (this.labelNames.includes("le")) {
      throw new TypeError(`Histogram "${options.name}" cannot have a label named "le"`);
    }
    this.buckets = [...b];
  }
  protected create(): HistogramSeries {
    return new HistogramSeries(this.buckets);
  }
  /** Observes `value` on the unlabelled series. */
  observe(value: number): void {
    this.labels().observe(value);
  }
}

export type AnyMetric = Counter | Gauge | Histogram;

/** The metrics of one server, in registration order. No global instance: create one and pass it. */
export class MetricsRegistry {
  readonly #metrics = new Map<string, AnyMetric>();

  counter(options: CounterOptions): Counter {
    return this.#add(new Counter(options));
  }

  gauge(options: GaugeOptions): Gauge {
    return this.#add(new Gauge(options));
  }

  histogram(options: HistogramOptions): Histogram {
    return this.#add(new Histogram(options));
  }

  /** Every metric, in registration order, with scrape-time gauges refreshed. */
  collect(): AnyMetric[] {
    const all = [...this.#metrics.values()];
    for (const m of all) if (m instanceof Gauge) m.refresh();
    return all;
  }

  /** The metric named `name`, if registered. */
  get(name: string): AnyMetric | undefined {
    return this.#metrics.get(name);
  }

  #add<M extends AnyMetric>(metric: M): M {
    for (const existing of this.#metrics.values()) {
      if (
        existing.name === metric.name || clashes(existing, metric.name) ||
        clashes(metric, existing.name)
      ) {
        throw new TypeError(
          `Cannot register metric "${metric.name}": it clashes with "${existing.name}"`,
        );
      }
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}

/** Whether `name` is one of the `_bucket`/`_sum`/`_count` series a histogram renders. */
function clashes(metric: AnyMetric, name: string): boolean {
  if (metric.type !== "histogram") return false;
  return name === `${metric.name}_bucket` || name === `${metric.name}_sum` ||
    name === `${metric.name}_count`;
}
