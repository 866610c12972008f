/**
 * Frames no WebSocket API would send — invalid UTF-8, reserved opcodes and
 * bits, orphan continuations, oversized control frames — over raw TCP. The
 * Deno runtime handles these below the connection actor; what the server
 * must do is end or survive the connection and release it.
 */
import { rawUpgrade } from "../../helpers/raw_http.ts";
import { clientFrame, drainUntilClose, writeAll } from "./raw_ws.ts";

function withFirstByte(frame: Uint8Array, set: number): Uint8Array {
  frame[0] = frame[0]! | set;
  return frame;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export const PROTOCOL_VIOLATIONS: readonly [string, () => Uint8Array][] = [
  ["text frame with invalid UTF-8", () => clientFrame(1, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))],
  [
    "text frame with a UTF-8-encoded lone surrogate",
    () => clientFrame(1, new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])),
  ],
  ["reserved opcode 3", () => clientFrame(3, "x")],
  ["RSV1 bit without an extension", () => withFirstByte(clientFrame(1, "{}"), 0x40)],
  ["continuation frame without a start", () => clientFrame(0, "x")],
  ["ping with a 200-byte payload", () => clientFrame(9, new Uint8Array(200))],
  ["close frame with a 1-byte payload", () => clientFrame(8, new Uint8Array([3]))],
  ["unmasked client frame", () => new Uint8Array([0x81, 0x02, 0x7b, 0x7d])],
  ["fragmented ping message", () => {
    const start = clientFrame(1, '{"type":');
    start[0] = 0x01; // no FIN
    return concat(start, clientFrame(0, '"ping"}'));
  }],
];

export interface ViolationOutcome {
  name: string;
  /** Close code sent by the server, "EOF" when it dropped the TCP connection, "open" when neither. */
  ending: string;
  /** Types of the events received after `connection_established`. */
  events: string[];
}

/** Sends one violation on a fresh connection and reports how it ended. */
export async function sendViolation(
  port: number,
  name: string,
  make: () => Uint8Array,
): Promise<ViolationOutcome> {
  const up = await rawUpgrade(port);
  try {
    await writeAll(up.conn, make());
    const d = await drainUntilClose(up.conn, 2000);
    return {
      name,
      ending: d.timedOut ? "open" : d.closeCode === undefined ? "EOF" : String(d.closeCode),
      events: d.texts.map((t) => {
        const e = JSON.parse(t);
        return e.type === "error" ? `error:${e.error.code}` : e.type;
      }).filter((t) => t !== "connection_established"),
    };
  } finally {
    try {
      up.conn.close();
    } catch { /* closed by the server */ }
  }
}
