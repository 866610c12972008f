/**
 * Frame → typed message, once, at the edge. Checks run cheapest first:
 * JSON, object shape, `type`, known type, then the type's zod schema.
 */
import type { ErrorCode } from "../core/errors.ts";
import { idProblem, MAX_REQUEST_ID_LENGTH } from "../core/ids.ts";
import { INBOUND_SCHEMAS, type InboundMessage, type InboundType } from "./messages.ts";

export type Decoded =
  | { ok: true; msg: InboundMessage }
  | { ok: false; code: ErrorCode; message: string; requestId?: string };

/** Decodes one text frame. `isKnown` says which types currently have a handler. */
export function decodeFrame(text: string, isKnown: (type: string) => boolean): Decoded {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      ok: false,
      code: "invalid_json",
      message: "Invalid JSON: the frame could not be parsed",
    };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return {
      ok: false,
      code: "invalid_message",
      message: `Invalid message: expected a JSON object (got ${describe(value)})`,
    };
  }
  const obj = value as Record<string, unknown>;
  const requestId = typeof obj.request_id === "string" &&
      idProblem(obj.request_id, MAX_REQUEST_ID_LENGTH) === undefined
    ? obj.request_id
    : undefined;
  const type = obj.type;
  if (typeof type !== "string" || type.length === 0) {
    return {
      ok: false,
      code: "missing_type",
      message: type === undefined
        ? 'Missing message type: "type" is required'
        : `Invalid message type: "type" must be a non-empty string (got ${describe(type)})`,
      requestId,
    };
  }
  if (!isKnown(type) || !Object.hasOwn(INBOUND_SCHEMAS, type)) {
    return {
      ok: false,
      code: "unknown_message_type",
      message: `Unknown message type: ${bounded(type)}`,
      requestId,
    };
  }
  const parsed = INBOUND_SCHEMAS[type as InboundType].safeParse(obj);
  if (!parsed.success) {
    const details = parsed.error.issues
      .map((i) => `${i.path.join(".") || "message"}: ${i.message}`)
      .join("; ");
    return {
      ok: false,
      code: "validation_error",
      message: `Invalid "${type}" message: ${details}`,
      requestId,
    };
  }
  return { ok: true, msg: parsed.data };
}

/** `text`, cut to 64 characters: error messages echo client input, bounded. */
function bounded(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return value.length > 40 ? "a string" : JSON.stringify(value);
  return `a ${typeof value}`;
}

/** UTF-8 byte length of `text`, stopping early once it exceeds `limit`. */
export function utf8LengthExceeds(text: string, limit: number): boolean {
  // Every UTF-16 code unit takes at least one byte and at most three.
  if (text.length > limit) return true;
  if (text.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : (c >= 0xd800 && c < 0xdc00) ? (i++, 4) : 3;
    if (bytes > limit) return true;
  }
  return false;
}
