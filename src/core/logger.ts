/**
 * Structured logs: one JSON object per line on stdout (`LOG_LEVEL` filters).
 * Callers pass fields, never secrets: keys and tokens are not logged, and any
 * field named like a secret is masked as a second line of defence.
 */
/** Log levels, least severe first; `silent` writes nothing. */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const SECRET_FIELD = /key|token|authorization|secret|password/i;

export type LogFields = Record<string, unknown>;
export type LogSink = (line: string) => void;

export class Logger {
  readonly level: LogLevel;
  readonly #min: number;
  readonly #sink: LogSink;

  constructor(level: LogLevel, sink: LogSink = (line) => console.log(line)) {
    this.level = level;
    this.#min = RANK[level];
    this.#sink = sink;
  }

  enabled(level: Exclude<LogLevel, "silent">): boolean {
    return RANK[level] >= this.#min;
  }

  debug(event: string, fields?: LogFields): void {
    if (RANK.debug >= this.#min) this.#write("debug", event, fields);
  }
  info(event: string, fields?: LogFields): void {
    if (RANK.info >= this.#min) this.#write("info", event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    if (RANK.warn >= this.#min) this.#write("warn", event, fields);
  }
  error(event: string, fields?: LogFields): void {
    if (RANK.error >= this.#min) this.#write("error", event, fields);
  }

  #write(level: string, event: string, fields: LogFields | undefined): void {
    const record: LogFields = { ts: new Date().toISOString(), level, event };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) {
        record[k] = SECRET_FIELD.test(k) && typeof v === "string" ? "[redacted]" : v;
      }
    }
    this.#sink(JSON.stringify(record));
  }
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = new Logger("silent");
