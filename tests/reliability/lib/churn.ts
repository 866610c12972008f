/**
 * Connection churn: bursts of WebSocket connections opened and closed at
 * once; a share of them are raw TCP clients that start a stream and vanish
 * mid-stream without a close frame.
 */
import { rawUpgrade } from "../../helpers/raw_http.ts";
import { TestClient } from "../../helpers/ws_client.ts";
import { clientFrame, Opcode, writeAll } from "./raw_ws.ts";
import type { Rng } from "./rng.ts";

export interface ChurnOptions {
  ws: string;
  port: number;
  rng: Rng;
  connections: number;
  burst: number;
  /** Share of connections that stream and then drop the TCP connection. */
  abruptRatio: number;
  /** Called after each burst (progress, sampling). */
  onBurst?: (done: number) => void;
}

export interface ChurnResult {
  opened: number;
  clean: number;
  abrupt: number;
  /** Upgrades refused or failed (should be 0 below WS_MAX_CONNECTIONS). */
  failures: number;
  firstFailures: string[];
  durationMs: number;
}

async function cleanClient(ws: string, rng: Rng): Promise<void> {
  const { client, hello } = await TestClient.connect(ws);
  try {
    if (hello.type !== "connection_established") throw new Error(`Got ${hello.type}`);
    if (rng.next() < 0.5) {
      const pong = await client.request({ type: "ping" });
      if (pong.type !== "pong") throw new Error(`Got ${pong.type}`);
    }
  } finally {
    await client.close();
  }
}

/**
 * Upgrades over raw TCP, starts a slow stream (which asks to be cancelled on
 * disconnect, so the provider connection is released at once rather than
 * when the detached reply completes), waits for its first chunk, then drops
 * the socket.
 */
async function abruptClient(port: number): Promise<void> {
  const up = await rawUpgrade(port);
  try {
    if (up.status !== 101) throw new Error(`Upgrade refused: ${up.status}`);
    await writeAll(
      up.conn,
      clientFrame(
        Opcode.text,
        JSON.stringify({ type: "text_message", content: "[slow:400] go", on_disconnect: "cancel" }),
      ),
    );
    const buf = new Uint8Array(16 * 1024);
    const decoder = new TextDecoder();
    let seen = "";
    const deadline = Date.now() + 10_000;
    while (!seen.includes("stream_chunk") && Date.now() < deadline) {
      const n = await up.conn.read(buf);
      if (n === null) throw new Error("Closed before the first chunk");
      seen = (seen + decoder.decode(buf.subarray(0, n))).slice(-4096);
    }
  } finally {
    up.conn.close(); // no close frame: the server sees the TCP connection vanish
  }
}

export async function runChurn(opts: ChurnOptions): Promise<ChurnResult> {
  const started = performance.now();
  const result: ChurnResult = {
    opened: 0,
    clean: 0,
    abrupt: 0,
    failures: 0,
    firstFailures: [],
    durationMs: 0,
  };
  for (let done = 0; done < opts.connections; done += opts.burst) {
    const n = Math.min(opts.burst, opts.connections - done);
    await Promise.all(Array.from({ length: n }, async () => {
      const abrupt = opts.rng.next() < opts.abruptRatio;
      try {
        if (abrupt) await abruptClient(opts.port);
        else await cleanClient(opts.ws, opts.rng);
        result.opened++;
        if (abrupt) result.abrupt++;
        else result.clean++;
      } catch (err) {
        if (result.failures++ < 20) result.firstFailures.push(String(err));
      }
    }));
    opts.onBurst?.(done + n);
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}
