/**
 * A seeded generator of malformed WebSocket frames. Every frame it makes is
 * invalid in a way the protocol documents, so each one must be answered by
 * exactly one `error` event (`docs/PROTOCOL.md`, "Error codes"), and an
 * oversized one additionally by close code 1009.
 */
import type { Rng } from "./rng.ts";

export type FrameCategory =
  | "random_text"
  | "random_binary"
  | "truncated_json"
  | "deep_nesting"
  | "huge_string"
  | "huge_number"
  | "wrong_field_type"
  | "bad_type_field"
  | "unicode"
  | "at_size_limit"
  | "over_size_limit";

export interface FuzzFrame {
  category: FrameCategory;
  data: string | Uint8Array;
  /** What the server must answer: one `error` event, or that plus close 1009. */
  expect: "error" | "close_1009";
}

const VALID_MESSAGES: readonly Record<string, unknown>[] = [
  { type: "heartbeat" },
  { type: "ping", request_id: "r-1" },
  { type: "get_status", timestamp: 1700000000.5 },
  { type: "text_message", content: "Hello, how are you?", conversation_id: "c1", stream: true },
  { type: "cancel", request_id: "r-2" },
  { type: "auth", token: "not-a-real-token" },
];

/** Values of the wrong type (or out of range) for every field of every inbound type. */
const WRONG_FIELDS: Record<string, Record<string, readonly unknown[]>> = {
  heartbeat: {
    timestamp: ["1700000000", true, [], {}, "NaN"],
    request_id: [5, "", "x".repeat(129), [], { id: 1 }],
    client_id: [7, true, []],
  },
  ping: {
    timestamp: ["now", false, [1]],
    request_id: [0, "", "y".repeat(200), null],
    client_id: [{}, 1.5],
  },
  get_status: {
    timestamp: ["", {}, [null]],
    request_id: [true, "", "z".repeat(129)],
    client_id: [0, [""]],
  },
  text_message: {
    content: [undefined, null, "", "   ", "\n\t", 42, true, [], ["hi"], { text: "hi" }],
    conversation_id: [5, "", "c".repeat(257), [], {}],
    personality_id: [5, "", "p".repeat(257), true],
    use_tools: ["yes", 1, 0, [], {}],
    stream: ["true", 1, "no", []],
    tool_events: ["true", 1, null],
    request_id: [1, "", "r".repeat(129)],
  },
  cancel: {
    request_id: [undefined, null, 5, "", "q".repeat(129), []],
  },
  auth: {
    token: [undefined, null, "", 5, "t".repeat(4097), ["k"], {}],
    request_id: [false, ""],
  },
};

const UNICODE = [
  "\u0000",
  "\ud800",
  "\udfff",
  "\udc00\ud800",
  "\u202e\u0645\u0631\u062d\u0628\u0627",
  "\u200f\u200e\u2066",
  "😀👩‍👩‍👧‍👦🏳️‍🌈",
  "\ufeff",
  "\uffff\ufffe",
  "e\u0301\u0301\u0301\u0301",
  "𝕳𝖊𝖑𝖑𝖔",
  "中文消息",
  "\u0007\u001b[31m",
];

/** JSON with escapes (`\ud800`, `\u0000`) that parse to lone surrogates and NULs. */
const ESCAPED_UNICODE = ["\\ud800", "\\udfff", "\\u0000", "\\u202e", "\\ud83d\\ude00", "\\ud83d"];

export interface FuzzOptions {
  /** `WS_MESSAGE_SIZE_LIMIT` of the server under test, in bytes. */
  maxMessageBytes: number;
  /** Largest nesting depth tried (the brief: 100k `[`). */
  maxDepth?: number;
  /**
   * Also send unknown `type`s that fill the frame to the limit (defect D1 in
   * `docs/RELIABILITY.md`: their error is dropped unanswered).
   */
  typeAtLimit?: boolean;
}

/** Makes one malformed frame of `category`. */
export function makeFrame(rng: Rng, category: FrameCategory, opts: FuzzOptions): FuzzFrame {
  const limit = opts.maxMessageBytes;
  const maxDepth = opts.maxDepth ?? 100_000;
  const error = (data: string | Uint8Array): FuzzFrame => ({ category, data, expect: "error" });
  switch (category) {
    case "random_text": {
      const n = rng.int(0, 2048);
      let s = "";
      for (let i = 0; i < n; i++) s += String.fromCharCode(rng.int(0, 0xffff));
      // `{"type":"ping"}` cannot come out of random code units in practice;
      // a leading `#` keeps every such frame invalid JSON for sure.
      return error(`#${s}`);
    }
    case "random_binary":
      return error(rng.bytes(rng.int(0, 4096)));
    case "truncated_json": {
      const text = JSON.stringify(rng.pick(VALID_MESSAGES));
      // No proper prefix of a JSON object is valid JSON.
      return error(text.slice(0, rng.int(0, text.length - 1)));
    }
    case "deep_nesting": {
      const depth = Math.min(rng.int(1, maxDepth), Math.floor((limit - 16) / 2));
      switch (rng.int(0, 3)) {
        case 0:
          return error("[".repeat(depth)); // unterminated: invalid_json
        case 1:
          return error("[".repeat(depth) + "]".repeat(depth)); // an array: invalid_message
        case 2: {
          const d = Math.floor(depth / 6);
          return error('{"a":'.repeat(d) + "1" + "}".repeat(d)); // no type: missing_type
        }
        default: {
          const d = Math.floor(depth / 8);
          return error(`{"type":"ping","x":${"[".repeat(d)}1${"]".repeat(d)},"request_id":7}`);
        }
      }
    }
    case "huge_string": {
      const size = rng.int(1024, Math.max(1024, limit - 4400));
      const big = rng.pick(["a", "é", "中", "😀"]).repeat(Math.floor(size / 4));
      switch (rng.int(0, 3)) {
        case 0: {
          // An unknown type is echoed in the error message: fill the frame to the
          // limit, so the answer would be over the limit unless the server bounds it.
          const type = opts.typeAtLimit && rng.next() < 0.5
            ? "t".repeat(limit - '{"type":""}'.length)
            : big;
          return error(JSON.stringify({ type }));
        }
        case 1:
          return error(JSON.stringify({ type: "text_message", content: big, stream: "x" }));
        case 2:
          return error(JSON.stringify({ type: "cancel", request_id: big }));
        default: // over the 4096-character token bound
          return error(JSON.stringify({ type: "auth", token: "k".repeat(4097) + big }));
      }
    }
    case "huge_number": {
      // Twice in one frame, so at most half the limit each.
      const digits = rng.int(310, Math.min(200_000, Math.floor((limit - 100) / 2)));
      const num = rng.pick([
        "9".repeat(digits),
        `-${"9".repeat(digits)}`,
        "1e400",
        "-1e400",
        `0.${"0".repeat(digits)}1`,
        "1e-400",
      ]);
      // Out-of-range numbers parse to ±Infinity or 0; put them where a string is required.
      return error(
        rng.pick([
          `{"type":"ping","timestamp":${num},"request_id":${num}}`,
          `{"type":"text_message","content":${num}}`,
          `{"type":${num}}`,
          `${num}`,
        ]),
      );
    }
    case "wrong_field_type": {
      const type = rng.pick(Object.keys(WRONG_FIELDS));
      const fields = WRONG_FIELDS[type]!;
      const field = rng.pick(Object.keys(fields));
      const value = rng.pick(fields[field]!);
      const base = { ...VALID_MESSAGES.find((m) => m.type === type)! };
      if (value === undefined) delete base[field];
      else base[field] = value;
      return error(JSON.stringify(base));
    }
    case "bad_type_field":
      return error(
        JSON.stringify(
          rng.pick<Record<string, unknown>>([
            {},
            { type: null },
            { type: "" },
            { type: 1 },
            { type: ["ping"] },
            { type: { type: "ping" } },
            { type: "PING" },
            { type: " ping" },
            { type: "ping\u0000" },
            { type: "__proto__" },
            { type: "constructor" },
            { type: "toString" },
            { type: "hasOwnProperty" },
            { Type: "ping" },
          ]),
        ),
      );
    case "unicode": {
      const u = rng.pick(UNICODE);
      const e = rng.pick(ESCAPED_UNICODE);
      switch (rng.int(0, 4)) {
        case 0:
          return error(JSON.stringify({ type: u }));
        case 1:
          return error(`{"type":"${e}"}`);
        case 2:
          return error(`{"type":"text_message","content":"${e}${e}","use_tools":"${e}"}`);
        case 3:
          return error(JSON.stringify({ type: "text_message", content: u, stream: u }));
        default:
          return error(`${u}{"type":"ping"}`);
      }
    }
    case "at_size_limit": {
      // Exactly `limit` UTF-8 bytes: accepted for decoding, answered with an error.
      const head = '{"type":7,"pad":"';
      const tail = '"}';
      return error(head + "a".repeat(limit - head.length - tail.length) + tail);
    }
    case "over_size_limit":
      return {
        category,
        data: rng.next() < 0.5 ? "b".repeat(limit + rng.int(1, 64)) : rng.bytes(limit + 1),
        expect: "close_1009",
      };
  }
}

/** Small malformed frames: most of a connection's traffic. */
export const SMALL_CATEGORIES: readonly FrameCategory[] = [
  "random_text",
  "random_binary",
  "truncated_json",
  "wrong_field_type",
  "wrong_field_type",
  "bad_type_field",
  "unicode",
  "unicode",
];

/** Frames up to the size limit, sent less often to keep a run's byte count bounded. */
export const LARGE_CATEGORIES: readonly FrameCategory[] = [
  "deep_nesting",
  "huge_string",
  "huge_number",
  "at_size_limit",
];

/**
 * Frames for one connection: `count` malformed frames; with probability
 * `oversizeRatio` the last one is over the size limit (it closes the socket).
 */
export function connectionScript(
  rng: Rng,
  count: number,
  opts: FuzzOptions & { oversizeRatio: number; largeRatio: number },
): FuzzFrame[] {
  const frames: FuzzFrame[] = [];
  for (let i = 0; i < count; i++) {
    const pool = rng.next() < opts.largeRatio ? LARGE_CATEGORIES : SMALL_CATEGORIES;
    frames.push(makeFrame(rng, rng.pick(pool), opts));
  }
  if (rng.next() < opts.oversizeRatio) {
    frames[frames.length - 1] = makeFrame(rng, "over_size_limit", opts);
  }
  return frames;
}
