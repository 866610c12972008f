/**
 * WebSocket framing over a raw TCP connection (after `rawUpgrade`), for
 * clients no WebSocket API can play: one that never reads, one that vanishes
 * without a close frame, one that sends bytes a browser would never send.
 */

export const Opcode = { text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** One masked client frame (FIN set). */
export function clientFrame(opcode: number, payload: Uint8Array | string): Uint8Array {
  const data = typeof payload === "string" ? new TextEncoder().encode(payload) : payload;
  const len = data.byteLength;
  const header = len < 126 ? 2 : len < 65536 ? 4 : 10;
  const out = new Uint8Array(header + 4 + len);
  out[0] = 0x80 | opcode;
  if (len < 126) out[1] = 0x80 | len;
  else if (len < 65536) {
    out[1] = 0x80 | 126;
    new DataView(out.buffer).setUint16(2, len);
  } else {
    out[1] = 0x80 | 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  const mask = crypto.getRandomValues(new Uint8Array(4));
  out.set(mask, header);
  for (let i = 0; i < len; i++) out[header + 4 + i] = data[i]! ^ mask[i & 3]!;
  return out;
}

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) off += await conn.write(bytes.subarray(off));
}

export interface DrainResult {
  bytes: number;
  frames: number;
  /** The server's close code; undefined on EOF or timeout. */
  closeCode: number | undefined;
  closeReason: string;
  /** Text frames seen (the first 64). */
  texts: string[];
  /** Still open when the time was up (no close, no EOF). */
  timedOut?: boolean;
}

export interface ServerFrame {
  opcode: number;
  payload: Uint8Array;
}

/**
 * Reads unmasked server frames until a close frame (answered, and returned
 * with its code) or EOF, counting the bytes read. Bounded by `timeoutMs`.
 */
export async function drainUntilClose(
  conn: Deno.Conn,
  timeoutMs = 20_000,
): Promise<DrainResult> {
  const deadline = Date.now() + timeoutMs;
  let buf = new Uint8Array(0);
  let bytes = 0;
  let frames = 0;
  const texts: string[] = [];
  const chunk = new Uint8Array(256 * 1024);
  const decoder = new TextDecoder();
  for (;;) {
    // Parse every complete frame in `buf`.
    for (;;) {
      if (buf.byteLength < 2) break;
      let len = buf[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.byteLength < 4) break;
        len = new DataView(buf.buffer, buf.byteOffset).getUint16(2);
        off = 4;
      } else if (len === 127) {
        if (buf.byteLength < 10) break;
        len = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(2));
        off = 10;
      }
      if (buf.byteLength < off + len) break;
      const opcode = buf[0]! & 0x0f;
      const payload = buf.subarray(off, off + len);
      frames++;
      if (opcode === Opcode.close) {
        const code = len >= 2
          ? new DataView(payload.buffer, payload.byteOffset).getUint16(0)
          : 1005;
        const closeReason = decoder.decode(payload.subarray(2));
        // Complete the close handshake, so the server releases the connection at once.
        await writeAll(conn, clientFrame(Opcode.close, payload.slice(0, 2))).catch(() => {});
        return { bytes, frames, closeCode: code, closeReason, texts };
      }
      if (opcode === Opcode.text && texts.length < 64) texts.push(decoder.decode(payload));
      buf = buf.subarray(off + len);
    }
    const pending = conn.read(chunk);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), Math.max(0, deadline - Date.now()));
    });
    const n = await Promise.race([pending, timeout]);
    clearTimeout(timer);
    if (n === "timeout") {
      pending.catch(() => {}); // settles when the caller closes the connection
      return { bytes, frames, closeCode: undefined, closeReason: "", texts, timedOut: true };
    }
    if (n === null) return { bytes, frames, closeCode: undefined, closeReason: "", texts };
    bytes += n;
    const next = new Uint8Array(buf.byteLength + n);
    next.set(buf);
    next.set(chunk.subarray(0, n), buf.byteLength);
    buf = next;
  }
}
