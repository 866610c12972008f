/**
 * An instant OpenAI-compatible upstream for `bench/completions_bench.ts`:
 * every answer is pre-encoded bytes, so it costs next to nothing and the
 * numbers describe the gateways in front of it. Runs as its own process
 * (`SERVER_PORT`, default 9810) so its CPU is never counted as a gateway's.
 *
 * The reply is chosen by the last message's `content`, so it is the same
 * whatever a gateway adds in front (a system prompt, history), and it is the
 * same text streamed (`stream: true`: one SSE chunk per word, all at once)
 * or not (one JSON completion):
 * - `"long"`: {@linkcode STREAM_CHUNKS} words;
 * - `"paced"` (streaming only): the role chunk and one word, a
 *   {@linkcode PACED_PAUSE_MS} pause, then the other
 *   {@linkcode STREAM_CHUNKS}` - 1` words, finish, usage and `[DONE]`;
 * - anything else: {@linkcode SHORT_WORDS} words.
 *
 * `deno run --allow-net --allow-env bench/instant_mock.ts`
 */

/** Content chunks of a streamed reply. */
export const STREAM_CHUNKS = 200;
/** Words of a non-streamed reply. */
export const SHORT_WORDS = 8;
/** Pause after the first chunk of a `"paced"` stream. */
export const PACED_PAUSE_MS = 50;
/** The content of every chunk. */
export const WORD = "word ";
const MODEL = "mock-model";

const encoder = new TextEncoder();

function sseChunk(extra: Record<string, unknown>): string {
  return `data: ${
    JSON.stringify({
      id: "chatcmpl-instant",
      object: "chat.completion.chunk",
      created: 1,
      model: MODEL,
      system_fingerprint: "fp_instant",
      ...extra,
    })
  }\n\n`;
}

function wordChunk(): string {
  return sseChunk({
    choices: [{ index: 0, delta: { content: WORD }, logprobs: null, finish_reason: null }],
  });
}

const ROLE_CHUNK = sseChunk({
  choices: [{
    index: 0,
    delta: { role: "assistant", content: "" },
    logprobs: null,
    finish_reason: null,
  }],
});
function tail(words: number): string {
  return sseChunk({ choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }] }) +
    sseChunk({
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: words, total_tokens: 10 + words },
    }) + "data: [DONE]\n\n";
}

function sseBody(words: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(ROLE_CHUNK + wordChunk().repeat(words) + tail(words));
}

function jsonBody(words: number): Uint8Array<ArrayBuffer> {
  return encoder.encode(JSON.stringify({
    id: "chatcmpl-instant",
    object: "chat.completion",
    created: 1,
    model: MODEL,
    system_fingerprint: "fp_instant",
    choices: [{
      index: 0,
      message: { role: "assistant", content: WORD.repeat(words), refusal: null },
      logprobs: null,
      finish_reason: "stop",
    }],
    usage: { prompt_tokens: 10, completion_tokens: words, total_tokens: 10 + words },
  }));
}

const LONG_SSE = sseBody(STREAM_CHUNKS);
const SHORT_SSE = sseBody(SHORT_WORDS);
const LONG_JSON = jsonBody(STREAM_CHUNKS);
const SHORT_JSON = jsonBody(SHORT_WORDS);
const PACED_HEAD = encoder.encode(ROLE_CHUNK + wordChunk());
const PACED_REST = encoder.encode(wordChunk().repeat(STREAM_CHUNKS - 1) + tail(STREAM_CHUNKS));

const SSE_HEADERS = { "content-type": "text/event-stream", "cache-control": "no-cache" };
const JSON_HEADERS = { "content-type": "application/json" };

/** The request handler (exported for tests). */
export async function handle(req: Request): Promise<Response> {
  const url = new URL(req.url);
  if (req.method === "GET" && url.pathname === "/v1/models") {
    return Response.json({
      object: "list",
      data: [{ id: MODEL, object: "model", created: 1, owned_by: "bench" }],
    });
  }
  if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
    await req.body?.cancel();
    return new Response("not found", { status: 404 });
  }
  // deno-lint-ignore no-explicit-any
  const body: any = await req.json();
  const last = body?.messages?.at?.(-1)?.content;
  const long = last === "long" || last === "paced";
  if (body?.stream !== true) {
    return new Response(long ? LONG_JSON : SHORT_JSON, { headers: JSON_HEADERS });
  }
  if (last !== "paced") return new Response(long ? LONG_SSE : SHORT_SSE, { headers: SSE_HEADERS });
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(PACED_HEAD);
        timer = setTimeout(() => {
          controller.enqueue(PACED_REST);
          controller.close();
        }, PACED_PAUSE_MS);
      },
      cancel() {
        clearTimeout(timer);
      },
    }),
    { headers: SSE_HEADERS },
  );
}

if (import.meta.main) {
  const port = Number(Deno.env.get("SERVER_PORT") ?? 9810);
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, handle);
  const stop = () => server.shutdown();
  Deno.addSignalListener("SIGTERM", stop);
  Deno.addSignalListener("SIGINT", stop);
  await server.finished;
}
