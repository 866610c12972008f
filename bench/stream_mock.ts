/**
 * A minimal OpenAI Chat Completions server on 127.0.0.1 for
 * `bench/stream_bench.ts`: it answers from pre-encoded bytes, so it costs
 * next to nothing per chunk (the numbers describe the reader, not the mock),
 * and it records *when* a client abandoned a stream, which
 * `tests/helpers/openai_mock.ts` does not.
 *
 * The answer is chosen by the last message's content, so the same mock
 * serves yychat (which adds a system prompt, history and tools) and a direct
 * client alike:
 * - `"long"`: {@linkcode LONG_CHUNKS} one-word chunks, all at once;
 * - `"slow"`: one chunk every {@linkcode SLOW_CHUNK_INTERVAL_MS} until the
 *   client goes away (bounded: {@linkcode SLOW_MAX_CHUNKS});
 * - anything else: {@linkcode SHORT_CHUNKS} chunks at once.
 *
 * A request without `stream: true` gets the same text as one JSON completion.
 */

export const LONG_CHUNKS = 2000;
export const SHORT_CHUNKS = 8;
export const SLOW_CHUNK_INTERVAL_MS = 2;
export const SLOW_MAX_CHUNKS = 15_000;
const MODEL = "mock-model";
/** The content of every chunk. */
export const WORD = "word ";

/** What the mock saw of one `"slow"` stream (times are this process's `performance.now()`). */
export interface SlowStream {
  startedMs: number;
  /** When the response body was cancelled: the client went away. */
  abortedMs?: number;
}

const encoder = new TextEncoder();

function sseChunk(extra: Record<string, unknown>): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 0,
      model: MODEL,
      ...extra,
    })
  }\n\n`;
}

function textChunk(content: string): string {
  return sseChunk({ choices: [{ index: 0, delta: { content }, finish_reason: null }] });
}

function sseBody(words: number): Uint8Array<ArrayBuffer> {
  let s = sseChunk({
    choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
  });
  for (let i = 0; i < words; i++) s += textChunk(WORD);
  s += sseChunk({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
  s += sseChunk({
    choices: [],
    usage: { prompt_tokens: 10, completion_tokens: words, total_tokens: 10 + words },
  });
  return encoder.encode(s + "data: [DONE]\n\n");
}

function jsonBody(words: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({
    id: "chatcmpl-bench",
    object: "chat.completion",
    created: 0,
    model: MODEL,
    choices: [{
      index: 0,
      message: { role: "assistant", content: WORD.repeat(words) },
      finish_reason: "stop",
      logprobs: null,
    }],
    usage: { prompt_tokens: 10, completion_tokens: words, total_tokens: 10 + words },
  }));
}

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const JSON_HEADERS = { "content-type": "application/json" };

/** The mock server; see the module doc. */
export class StreamMock {
  /** Base URL for an OpenAI client, ending in `/v1`. */
  readonly baseUrl: string;
  /** Every `"slow"` stream, in arrival order. */
  readonly slowStreams: SlowStream[] = [];
  /** Completion requests answered. */
  requests = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #shutdown = new AbortController();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #bodies = {
    longSse: sseBody(LONG_CHUNKS),
    shortSse: sseBody(SHORT_CHUNKS),
    longJson: jsonBody(LONG_CHUNKS),
    shortJson: jsonBody(SHORT_CHUNKS),
  };

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: this.#shutdown.signal, onListen() {} },
      (req) => this.#handle(req),
    );
    this.baseUrl = `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** Resolves with the abort time of `slowStreams[index]`, or rejects after `timeoutMs`. */
  async abortOf(index: number, timeoutMs: number): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    // Polling only decides when to look; the recorded time comes from cancel() itself.
    while (performance.now() < deadline) {
      const aborted = this.slowStreams[index]?.abortedMs;
      if (aborted !== undefined) return aborted;
      await new Promise((r) => setTimeout(r, 1));
    }
    throw new Error(`Stream mock: slow stream ${index} was not aborted within ${timeoutMs} ms`);
  }

  async close(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#shutdown.abort();
    await this.#server.finished;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      await req.body?.cancel();
      return new Response("not found", { status: 404 });
    }
    // deno-lint-ignore no-explicit-any
    const body: any = await req.json();
    this.requests++;
    const last = body?.messages?.at?.(-1)?.content;
    const stream = body?.stream === true;
    if (last === "slow") {
      if (!stream) return new Response("slow needs stream: true", { status: 400 });
      return new Response(this.#slow(), { headers: SSE_HEADERS });
    }
    const long = last === "long";
    if (stream) {
      return new Response(long ? this.#bodies.longSse : this.#bodies.shortSse, {
        headers: SSE_HEADERS,
      });
    }
    return new Response(long ? this.#bodies.longJson : this.#bodies.shortJson, {
      headers: JSON_HEADERS,
    });
  }

  #slow(): ReadableStream<Uint8Array> {
    const record: SlowStream = { startedMs: performance.now() };
    this.slowStreams.push(record);
    const timers = this.#timers;
    let sent = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const chunk = encoder.encode(textChunk(WORD));
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(sseChunk({
          choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
        })));
        const tick = () => {
          timers.delete(timer!);
          if (record.abortedMs !== undefined) return;
          if (sent++ >= SLOW_MAX_CHUNKS) {
            controller.enqueue(encoder.encode("data: [DONE]\n\n"));
            controller.close();
            return;
          }
          controller.enqueue(chunk);
          timer = setTimeout(tick, SLOW_CHUNK_INTERVAL_MS);
          timers.add(timer!);
        };
        tick();
      },
      cancel() {
        // Deno.serve reports a client that went away mid-body here.
        record.abortedMs = performance.now();
        if (timer !== undefined) {
          clearTimeout(timer);
          timers.delete(timer);
        }
      },
    });
  }
}
