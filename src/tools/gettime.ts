/**
 * The `gettime` built-in: the current date and time in an IANA time zone
 * (default from settings), so the model never guesses the time.
 */
import type { Tool } from "./tool.ts";

export interface GetTimeOptions {
  /** IANA zone used when the model gives none. */
  defaultTimezone: string;
  /** Injected clock for tests. */
  now?: () => Date;
}

export interface TimeResult {
  timezone: string;
  /** Local wall-clock time, `YYYY-MM-DD HH:mm:ss`. */
  local_time: string;
  /** Offset from UTC, e.g. `+08:00`. */
  utc_offset: string;
  weekday: string;
  /** The same instant in UTC, ISO 8601. */
  utc_iso: string;
  /** Seconds since the epoch. */
  unix: number;
}

/**
 * The time `now` in `timezone`.
 *
 * @throws {RangeError} when `timezone` is not a valid IANA zone
 */
export function timeIn(timezone: string, now: Date): TimeResult {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "long",
      hourCycle: "h23",
      timeZoneName: "longOffset",
    }).formatToParts(now);
  } catch {
    throw new RangeError(
      `Unknown time zone "${timezone}": use an IANA name such as "Asia/Shanghai" or "UTC"`,
    );
  }
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value;
  const offsetName = get("timeZoneName") ?? "GMT";
  const utcOffset = offsetName === "GMT" ? "+00:00" : offsetName.replace("GMT", "");
  return {
    timezone,
    local_time: `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${
      get("second")
    }`,
    utc_offset: utcOffset,
    weekday: get("weekday") ?? "",
    utc_iso: now.toISOString(),
    unix: Math.floor(now.getTime() / 1000),
  };
}

/** The `gettime` tool for the registry. */
export function createGetTimeTool(options: GetTimeOptions): Tool {
  const now = options.now ?? (() => new Date());
  return {
    name: "gettime",
    description:
      "Returns the current date, time and weekday in a time zone. Use it whenever the user asks about the current time or date.",
    parameters: {
      type: "object",
      properties: {
        timezone: {
          type: "string",
          description:
            `IANA time zone name, e.g. "Asia/Shanghai" or "America/New_York" (default "${options.defaultTimezone}")`,
        },
      },
      required: [],
    },
    call(args) {
      return Promise.resolve().then(() => {
        const tz = args.timezone;
        if (tz !== undefined && tz !== null && typeof tz !== "string") {
          throw new TypeError(`"timezone" must be a string (got ${JSON.stringify(tz)})`);
        }
        return timeIn(tz && tz.trim() ? tz.trim() : options.defaultTimezone, now());
      });
    },
  };
}
