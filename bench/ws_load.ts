/**
 * WebSocket load client for the gateway benchmark.
 *
 * Modes:
 * - `closed`: N connections, each sends `{"type":"ping"}` and waits for the
 *   pong before the next, for D seconds → msgs/s, latency p50/p90/p99/max.
 * - `pipelined`: K pings in flight per connection → throughput.
 * - `idle`: open M connections, wait for every greeting, hold them → server
 *   RSS per connection (`VmRSS` of `/proc/<pid>/status`, before and after).
 *
 * With `serverPid` every mode also reads the server's CPU time
 * (`utime + stime` of `/proc/<pid>/stat`) over the measured window, so the
 * CPU cost per ping→pong is known even when the client, not the server, is
 * the bottleneck (client and server share the same 2 cores).
 *
 * Why a raw-TCP client instead of Deno's `WebSocket`: on a shared 2-core box
 * the client must cost much less per message than the server, or the numbers
 * measure the client. Deno's `WebSocket` client pays per message for a
 * `MessageEvent`, a UTF-8 decode and an event dispatch — about what the
 * server pays. This client writes pre-built masked frames (mask key 0, which
 * RFC 6455 allows), reads frames from one reusable buffer, recognises a pong
 * by the bytes of its `type` field without decoding or parsing, and batches
 * the replies to everything one `read` returned into one `write`. It still
 * speaks real WebSocket to the server (handshake, masking, control frames);
 * `--client ws` runs the same modes over Deno's `WebSocket` for comparison.
 *
 * CLI: `deno run --allow-net --allow-run bench/ws_load.ts --url ws://127.0.0.1:9800/ws/chat
 *   --mode closed|pipelined|idle [--connections N] [--duration S] [--warmup S]
 *   [--inflight K] [--server-pid PID] [--client raw|ws] [--json]`
 */

import { readProc } from "../tests/helpers/proc.ts";
import process from "node:process";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type LoadMode = "closed" | "pipelined" | "idle";
export type ClientKind = "raw" | "ws";

export interface LoadOptions {
  url: string;
  mode: LoadMode;
  connections: number;
  /** Measured window (closed/pipelined), or how long connections are held (idle). */
  durationMs: number;
  /** Traffic before the measured window starts (closed/pipelined). */
  warmupMs?: number;
  /** Pings in flight per connection (pipelined). */
  inflight?: number;
  /** Server process to read `/proc` from. */
  serverPid?: number;
  /** Connections opened at once. */
  connectConcurrency?: number;
  client?: ClientKind;
  /** Upper bound on the whole run; it fails past it. */
  timeoutMs?: number;
}

export interface Latency {
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface LoadResult {
  mode: LoadMode;
  client: ClientKind;
  connections: number;
  /** Pongs received inside the measured window. */
  messages: number;
  windowS: number;
  msgsPerS: number;
  /** Pings sent that never got a pong (after a bounded drain). */
  unanswered: number;
  /** `error` events and unexpected frames. */
  errors: number;
  firstError?: string;
  latency?: Latency;
  /** Server CPU (user+system) per pong in the window, µs. */
  serverCpuUsPerMsg?: number;
  /** Server CPU use in the window, % of one core. */
  serverCpuPct?: number;
  /** This process's CPU use in the window, % of one core. */
  clientCpuPct: number;
  /**
   * CPU used in the window by everything else on the machine, % of one core
   * (other processes disturb a shared 2-core box: a high value flags noise).
   */
  otherCpuPct?: number;
  /** Idle mode: server RSS before and after opening, and the difference per connection. */
  rss?: { beforeKiB: number; afterKiB: number; perConnBytes: number; held: number };
}

// ------------------------------------------------------------------ /proc

let clockTicks: number | undefined;

/** `CLK_TCK`: the unit of `utime`/`stime` in `/proc/<pid>/stat`. */
async function ticksPerSecond(): Promise<number> {
  if (clockTicks !== undefined) return clockTicks;
  try {
    const out = await new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" }).output();
    clockTicks = Number(decoder.decode(out.stdout).trim()) || 100;
  } catch {
    clockTicks = 100;
  }
  return clockTicks;
}

/** CPU seconds (user + system, all threads) this process has used. */
function ownCpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** CPU seconds (user + system, all threads) a process has used. */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readProc(`/proc/${pid}/stat`);
  // Fields after the parenthesised command name, which may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / await ticksPerSecond();
}

/**
 * CPU seconds the whole machine has spent in processes (all cores,
 * `/proc/stat`): user + nice + system + steal. irq/softirq are left out: under
 * load they are mostly the kernel moving this benchmark's own loopback
 * packets (≈ 35 % of a core at 90k msgs/s), which no process is charged for.
 */
export async function machineBusySeconds(): Promise<number> {
  const line = (await readProc("/proc/stat")).split("\n", 1)[0]!;
  // user nice system idle iowait irq softirq steal
  const t = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = t[0]! + t[1]! + t[2]! + (t[7] ?? 0);
  return busy / await ticksPerSecond();
}

/** Resident set size of a process, KiB. */
export async function rssKiB(pid: number): Promise<number> {
  const status = await readProc(`/proc/${pid}/status`);
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (m === null) throw new TypeError(`Cannot read VmRSS of process ${pid}`);
  return Number(m[1]);
}

// ---------------------------------------------------------------- clients

/** What a text frame from the server was, judged by its `type`. */
type FrameKind = "pong" | "greeting" | "error" | "other";

/** One benchmark connection, whatever the transport. */
interface BenchSocket {
  /** Resolves when the server's `connection_established` arrived. */
  readonly greeted: Promise<void>;
  /** Called with the pongs of one read (raw) or one event (ws). */
  onPongs: (count: number, nowMs: number) => void;
  onOther: (kind: FrameKind, text: string) => void;
  sendPings(count: number): void;
  close(): Promise<void>;
}

const PING_PAYLOAD = encoder.encode('{"type":"ping"}');
const pingFrames = new Map<number, Uint8Array>();

/** `count` masked ping frames back to back (mask key 0: payload unchanged). */
function pingFrameBytes(count: number): Uint8Array {
  let bytes = pingFrames.get(count);
  if (bytes === undefined) {
    const one = new Uint8Array(6 + PING_PAYLOAD.length);
    one[0] = 0x81; // FIN + text
    one[1] = 0x80 | PING_PAYLOAD.length; // masked, length < 126
    one.set(PING_PAYLOAD, 6); // bytes 2..5: mask key 0
    bytes = new Uint8Array(one.length * count);
    for (let i = 0; i < count; i++) bytes.set(one, i * one.length);
    if (count <= 256) pingFrames.set(count, bytes);
  }
  return bytes;
}

/** `{"type":"` is 9 bytes; the kind is told by the bytes after it. */
function classify(buf: Uint8Array, at: number, len: number): FrameKind {
  if (len < 13) return "other";
  const a = buf[at + 9], b = buf[at + 10], c = buf[at + 11], d = buf[at + 12];
  if (a === 0x70 && b === 0x6f && c === 0x6e && d === 0x67) return "pong"; // pong
  if (a === 0x63 && b === 0x6f && c === 0x6e && d === 0x6e) return "greeting"; // conn
  if (a === 0x65 && b === 0x72 && c === 0x72 && d === 0x6f) return "error"; // erro
  return "other";
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** RFC 6455 over a plain TCP connection; see the module doc for why. */
class RawSocket implements BenchSocket {
  readonly greeted: Promise<void>;
  onPongs: (count: number, nowMs: number) => void = () => {};
  onOther: (kind: FrameKind, text: string) => void = () => {};
  readonly #conn: Deno.TcpConn;
  readonly #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #greet: () => void;
  #closed = false;
  #loop: Promise<void> = Promise.resolve();
  #writing = false;
  #queuedPings = 0;

  private constructor(conn: Deno.TcpConn, bufBytes: number) {
    this.#conn = conn;
    this.#buf = new Uint8Array(bufBytes);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.greeted = promise;
    this.#greet = resolve;
  }

  static async open(url: URL, bufBytes: number): Promise<RawSocket> {
    const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port || 80) });
    conn.setNoDelay(true);
    const sock = new RawSocket(conn, bufBytes);
    try {
      await sock.#handshake(url);
    } catch (err) {
      conn.close();
      throw err;
    }
    sock.#loop = sock.#readLoop();
    return sock;
  }

  async #handshake(url: URL): Promise<void> {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      this.#conn,
      encoder.encode(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
          `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    const buf = this.#buf;
    for (;;) {
      const n = await this.#conn.read(buf.subarray(this.#end));
      if (n === null) throw new Error("Handshake failed: connection closed by the server");
      this.#end += n;
      const head = decoder.decode(buf.subarray(0, this.#end));
      const stop = head.indexOf("\r\n\r\n");
      if (stop === -1) {
        if (this.#end === buf.length) throw new Error("Handshake failed: response too long");
        continue;
      }
      if (!head.startsWith("HTTP/1.1 101")) {
        throw new Error(`Handshake failed: ${head.slice(0, head.indexOf("\r\n"))}`);
      }
      // Frames sent right after the 101 (the greeting) stay in the buffer.
      this.#start = encoder.encode(head.slice(0, stop + 4)).length;
      return;
    }
  }

  async #readLoop(): Promise<void> {
    const buf = this.#buf;
    try {
      this.#parse(performance.now());
      while (!this.#closed) {
        if (this.#end === buf.length) {
          if (this.#start === 0) throw new RangeError("Frame larger than the read buffer");
          buf.copyWithin(0, this.#start, this.#end);
          this.#end -= this.#start;
          this.#start = 0;
        }
        const n = await this.#conn.read(buf.subarray(this.#end));
        if (n === null) break;
        this.#end += n;
        this.#parse(performance.now());
      }
    } catch (err) {
      if (!this.#closed) this.onOther("other", `read failed: ${String(err)}`);
    }
    this.#closed = true;
  }

  #parse(nowMs: number): void {
    const buf = this.#buf;
    let pongs = 0;
    let s = this.#start;
    const end = this.#end;
    while (end - s >= 2) {
      const opcode = buf[s]! & 0x0f;
      let len = buf[s + 1]! & 0x7f;
      let hdr = 2;
      if (len === 126) {
        if (end - s < 4) break;
        len = (buf[s + 2]! << 8) | buf[s + 3]!;
        hdr = 4;
      } else if (len === 127) {
        if (end - s < 10) break;
        len = (buf[s + 6]! * 2 ** 24) + ((buf[s + 7]! << 16) | (buf[s + 8]! << 8) | buf[s + 9]!);
        hdr = 10;
      }
      if (end - s < hdr + len) break;
      const at = s + hdr;
      if (opcode === 1) {
        const kind = classify(buf, at, len);
        if (kind === "pong") pongs++;
        else if (kind === "greeting") this.#greet();
        else this.onOther(kind, decoder.decode(buf.subarray(at, at + len)));
      } else if (opcode === 9) {
        // Protocol ping (idleTimeout): answer with a masked pong, same payload.
        const pong = new Uint8Array(6 + len);
        pong[0] = 0x8a;
        pong[1] = 0x80 | len;
        pong.set(buf.subarray(at, at + len), 6);
        this.#writeRaw(pong);
      } else if (opcode === 8) {
        this.#closed = true;
      } else if (opcode !== 10) {
        this.onOther("other", `unexpected opcode ${opcode}`);
      }
      s += hdr + len;
    }
    if (s === end) this.#start = this.#end = 0;
    else this.#start = s;
    if (pongs > 0) this.onPongs(pongs, nowMs);
  }

  sendPings(count: number): void {
    if (this.#closed) return;
    this.#queuedPings += count;
    if (!this.#writing) this.#flush();
  }

  #flush(): void {
    const count = this.#queuedPings;
    if (count === 0 || this.#closed) {
      this.#writing = false;
      return;
    }
    this.#queuedPings = 0;
    this.#writing = true;
    writeAll(this.#conn, pingFrameBytes(count)).then(
      () => this.#flush(),
      (err) => {
        this.#writing = false;
        if (!this.#closed) this.onOther("other", `write failed: ${String(err)}`);
      },
    );
  }

  #writeRaw(bytes: Uint8Array): void {
    writeAll(this.#conn, bytes).catch(() => {});
  }

  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      // Close frame, status 1000, masked with key 0.
      await writeAll(this.#conn, new Uint8Array([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]))
        .catch(() => {});
    }
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    await this.#loop;
  }
}

/** The same contract over Deno's `WebSocket` client, for comparison. */
class DenoSocket implements BenchSocket {
  readonly greeted: Promise<void>;
  onPongs: (count: number, nowMs: number) => void = () => {};
  onOther: (kind: FrameKind, text: string) => void = () => {};
  readonly #ws: WebSocket;
  readonly #closedP: Promise<void>;

  private constructor(ws: WebSocket, greeted: Promise<void>, closed: Promise<void>) {
    this.#ws = ws;
    this.greeted = greeted;
    this.#closedP = closed;
  }

  static open(url: URL): Promise<DenoSocket> {
    const ws = new WebSocket(url);
    const greet = Promise.withResolvers<void>();
    const opened = Promise.withResolvers<DenoSocket>();
    const closed = Promise.withResolvers<void>();
    const sock = new DenoSocket(ws, greet.promise, closed.promise);
    ws.onopen = () => opened.resolve(sock);
    ws.onerror = () => opened.reject(new Error(`WebSocket to ${url} failed`));
    ws.onclose = () => {
      opened.reject(new Error(`WebSocket to ${url} closed`));
      closed.resolve();
    };
    ws.onmessage = (ev) => {
      const text = ev.data as string;
      const bytes = encoder.encode(text.slice(0, 13));
      const kind = classify(bytes, 0, bytes.length);
      if (kind === "pong") sock.onPongs(1, performance.now());
      else if (kind === "greeting") greet.resolve();
      else sock.onOther(kind, text);
    };
    return opened.promise;
  }

  sendPings(count: number): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    for (let i = 0; i < count; i++) this.#ws.send('{"type":"ping"}');
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === WebSocket.CLOSED) return;
    this.#ws.close(1000);
    await this.#closedP;
  }
}

function openSocket(url: URL, kind: ClientKind, bufBytes: number): Promise<BenchSocket> {
  return kind === "raw" ? RawSocket.open(url, bufBytes) : DenoSocket.open(url);
}

/** Opens `count` sockets, `concurrency` at a time, each waiting for its greeting. */
async function openMany(
  url: URL,
  count: number,
  opts: { kind: ClientKind; concurrency: number; bufBytes: number; deadlineMs: number },
): Promise<BenchSocket[]> {
  const sockets: BenchSocket[] = [];
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < count && failure === undefined) {
      next++;
      if (performance.now() > opts.deadlineMs) {
        failure = new Error(`Timed out opening connections (${sockets.length} of ${count})`);
        return;
      }
      try {
        const sock = await openSocket(url, opts.kind, opts.bufBytes);
        sockets.push(sock);
        await sock.greeted;
      } catch (err) {
        failure = err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.concurrency, count) }, worker));
  if (failure !== undefined) {
    await closeAll(sockets);
    throw failure instanceof Error ? failure : new Error(String(failure));
  }
  return sockets;
}

async function closeAll(sockets: BenchSocket[]): Promise<void> {
  for (let i = 0; i < sockets.length; i += 500) {
    await Promise.all(sockets.slice(i, i + 500).map((s) => s.close()));
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

// ------------------------------------------------------------------- runs

/** Runs one load mode against a server and measures it. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  const kind = options.client ?? "raw";
  const startMs = performance.now();
  const deadlineMs = startMs + (options.timeoutMs ?? 120_000);
  const concurrency = options.connectConcurrency ?? 64;
  const idle = options.mode === "idle";
  const rssBefore = idle && options.serverPid ? await rssKiB(options.serverPid) : 0;
  const sockets = await openMany(url, options.connections, {
    kind,
    concurrency,
    // Idle sockets only ever read a greeting; loaded ones may get bursts of pongs.
    bufBytes: idle ? 2048 : 64 * 1024,
    deadlineMs,
  });
  let errors = 0;
  let firstError: string | undefined;
  for (const s of sockets) {
    s.onOther = (k, text) => {
      errors++;
      firstError ??= `${k}: ${text.slice(0, 300)}`;
    };
  }
  try {
    if (idle) {
      await delay(options.durationMs);
      const rssAfter = options.serverPid ? await rssKiB(options.serverPid) : 0;
      return {
        mode: "idle",
        client: kind,
        connections: options.connections,
        messages: 0,
        windowS: options.durationMs / 1000,
        msgsPerS: 0,
        unanswered: 0,
        errors,
        ...(firstError ? { firstError } : {}),
        clientCpuPct: 0,
        rss: {
          beforeKiB: rssBefore,
          afterKiB: rssAfter,
          perConnBytes: (rssAfter - rssBefore) * 1024 / sockets.length,
          held: sockets.length,
        },
      };
    }
    return await drive(sockets, options, { errors: () => errors, firstError: () => firstError });
  } finally {
    await closeAll(sockets);
  }
}

async function drive(
  sockets: BenchSocket[],
  options: LoadOptions,
  errs: { errors: () => number; firstError: () => string | undefined },
): Promise<LoadResult> {
  const pipelined = options.mode === "pipelined";
  const inflight = pipelined ? Math.max(1, options.inflight ?? 16) : 1;
  const warmupMs = options.warmupMs ?? 1000;
  let phase: "warmup" | "measure" | "drain" = "warmup";
  let sent = 0;
  let received = 0;
  let measured = 0;
  // Latency samples (closed loop): one per pong in the window.
  let samples = new Float64Array(1 << 16);
  let nSamples = 0;

  for (const sock of sockets) {
    let sentAtMs = 0;
    sock.onPongs = (count, nowMs) => {
      received += count;
      if (phase === "measure") {
        measured += count;
        if (!pipelined) {
          if (nSamples === samples.length) {
            const grown = new Float64Array(samples.length * 2);
            grown.set(samples);
            samples = grown;
          }
          samples[nSamples++] = nowMs - sentAtMs;
        }
      }
      if (phase !== "drain") {
        sentAtMs = nowMs;
        sent += count;
        sock.sendPings(count);
      }
    };
    sentAtMs = performance.now();
    sent += inflight;
    sock.sendPings(inflight);
  }

  await delay(warmupMs);
  const pid = options.serverPid;
  const serverCpu0 = pid ? await cpuSeconds(pid) : 0;
  const machine0 = await machineBusySeconds();
  const clientCpu0 = ownCpuSeconds();
  const t0 = performance.now();
  measured = 0;
  phase = "measure";
  await delay(options.durationMs);
  phase = "drain";
  const t1 = performance.now();
  const clientCpu1 = ownCpuSeconds();
  const serverCpu1 = pid ? await cpuSeconds(pid) : 0;
  const machine1 = await machineBusySeconds();
  const windowS = (t1 - t0) / 1000;
  const messages = measured;
  // Let in-flight pings come back (bounded) so unanswered ones are real losses.
  for (let i = 0; i < 100 && received < sent; i++) await delay(20);

  const lat = samples.subarray(0, nSamples).sort();
  return {
    mode: options.mode,
    client: options.client ?? "raw",
    connections: sockets.length,
    messages,
    windowS,
    msgsPerS: messages / windowS,
    unanswered: sent - received,
    errors: errs.errors(),
    ...(errs.firstError() ? { firstError: errs.firstError()! } : {}),
    ...(pipelined ? {} : {
      latency: {
        p50Ms: percentile(lat, 0.5),
        p90Ms: percentile(lat, 0.9),
        p99Ms: percentile(lat, 0.99),
        maxMs: lat.length ? lat[lat.length - 1]! : NaN,
      },
    }),
    ...(pid && messages > 0
      ? {
        serverCpuUsPerMsg: (serverCpu1 - serverCpu0) * 1e6 / messages,
        serverCpuPct: (serverCpu1 - serverCpu0) * 100 / windowS,
      }
      : {}),
    clientCpuPct: (clientCpu1 - clientCpu0) * 100 / windowS,
    ...(pid
      ? {
        otherCpuPct: Math.max(
          0,
          (machine1 - machine0 - (serverCpu1 - serverCpu0) - (clientCpu1 - clientCpu0)) * 100 /
            windowS,
        ),
      }
      : {}),
  };
}

// -------------------------------------------------------------------- CLI

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i !== -1) return args[i + 1];
  const eq = args.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

/** CLI entry point; `--quick` shortens everything (a smoke run). */
export async function main(args: string[]): Promise<LoadResult> {
  const quick = args.includes("--quick");
  const mode = (flag(args, "mode") ?? "closed") as LoadMode;
  if (!["closed", "pipelined", "idle"].includes(mode)) {
    throw new TypeError(`Unknown mode: "${mode}" (closed, pipelined or idle)`);
  }
  const pid = flag(args, "server-pid");
  const result = await runLoad({
    url: flag(args, "url") ?? "ws://127.0.0.1:9800/ws/chat",
    mode,
    connections: Number(flag(args, "connections") ?? (mode === "idle" ? 1000 : 32)),
    durationMs: Number(flag(args, "duration") ?? (quick ? 1 : 5)) * 1000,
    warmupMs: Number(flag(args, "warmup") ?? (quick ? 0.3 : 1)) * 1000,
    inflight: Number(flag(args, "inflight") ?? 16),
    ...(pid ? { serverPid: Number(pid) } : {}),
    client: (flag(args, "client") ?? "raw") as ClientKind,
  });
  if (args.includes("--json")) console.log(JSON.stringify(result));
  else console.log(result);
  return result;
}

if (import.meta.main) await main(Deno.args);
