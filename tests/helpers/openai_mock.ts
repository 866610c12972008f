/**
 * A real HTTP mock of the OpenAI API on 127.0.0.1 (random port), for driving
 * the real `openai` client (and yychat's own REST/WS layers) in tests and
 * benchmarks.
 *
 * Endpoints: `POST /v1/chat/completions` (SSE when the body has
 * `stream: true`, one JSON completion otherwise) and `GET /v1/models`.
 *
 * Each completion request takes the next scripted {@linkcode MockResponse}
 * from a queue ({@linkcode OpenAIMock.enqueue}); when the queue is empty the
 * `fallback` answers (default: HTTP 500 saying nothing was scripted, so a
 * missing script fails loudly). The same script serves streaming and
 * non-streaming requests. Like OpenAI, a request offering a tool whose name
 * does not match `^[a-zA-Z0-9_-]{1,64}$` gets HTTP 400 (no script is used).
 *
 * ```ts
 * const mock = await OpenAIMock.start();
 * mock.enqueue(textReply("Hello there"));
 * const client = new OpenAI({ apiKey: "test", baseURL: mock.baseUrl });
 * // ...
 * await mock.close();
 * ```
 */

/** One step of a scripted answer. Each non-`delay` step is one SSE chunk. */
export type MockEvent =
  /** `choices[0].delta.content`, with `choices[0].logprobs.content` when given. */
  | { type: "text"; content: string; logprobs?: unknown[] }
  /** `choices[0].delta.refusal` */
  | { type: "refusal"; content: string }
  /** One `choices[0].delta.tool_calls[0]` entry; omit fields to test partial deltas. */
  | {
    type: "tool_call";
    index?: number;
    id?: string;
    name?: string;
    arguments?: string;
  }
  /** `choices[0].finish_reason` */
  | { type: "finish"; reason: "stop" | "length" | "tool_calls" | "content_filter" }
  /** A final chunk with empty `choices` and `usage`. */
  | { type: "usage"; usage: MockUsage }
  /** Written verbatim to the SSE body (e.g. malformed `data:` lines). */
  | { type: "raw"; data: string }
  /** Pause before the next step. */
  | { type: "delay"; ms: number }
  /** Kill the connection here: the client sees the body break mid-stream. */
  | { type: "cut" };

export interface MockUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: Record<string, number>;
  completion_tokens_details?: Record<string, number>;
}

/** A scripted answer: a successful completion built from events. */
export interface MockReply {
  kind: "reply";
  events: MockEvent[];
  /** Pause between chunks (slow streams). */
  chunkDelayMs?: number;
  /** Leave out the final `data: [DONE]`. */
  omitDone?: boolean;
  /** Pause before sending the response headers. */
  headerDelayMs?: number;
  /** `system_fingerprint` of every chunk (and of the completion). */
  systemFingerprint?: string;
  /** `service_tier` of every chunk (and of the completion). */
  serviceTier?: string;
}

/** A scripted HTTP error with OpenAI's error body. */
export interface MockHttpError {
  kind: "error";
  status: number;
  message: string;
  code?: string;
  type?: string;
  headers?: Record<string, string>;
}

/**
 * Never sends headers: the request hangs until the mock is closed. Deno.serve
 * cannot see a client disconnect before the handler returns, so such a
 * request is never marked `aborted` (streamed replies are).
 */
export interface MockHang {
  kind: "hang";
}

export type MockResponse = MockReply | MockHttpError | MockHang;

/** What the mock saw of one request. */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: Headers;
  /** Parsed JSON body (`undefined` for GET or a body that is not JSON). */
  // deno-lint-ignore no-explicit-any
  body: any;
  /** The client went away before the streamed response was complete. */
  aborted: boolean;
  /** The whole scripted response was sent. */
  completed: boolean;
}

export interface OpenAIMockOptions {
  /** Model id reported by `/v1/models` and in completions. Default `mock-model`. */
  model?: string;
  /** Answer when the queue is empty. Default: HTTP 500 "no scripted response". */
  fallback?: MockResponse | ((request: RecordedRequest) => MockResponse);
}

/** A reply streaming `text` word by word, then `stop` and usage. */
export function textReply(text: string, options: { chunkDelayMs?: number } = {}): MockReply {
  const words = text.match(/\S+\s*|\s+/g) ?? [];
  return {
    kind: "reply",
    chunkDelayMs: options.chunkDelayMs,
    events: [
      ...words.map((content) => ({ type: "text" as const, content })),
      { type: "finish", reason: "stop" },
      {
        type: "usage",
        usage: {
          prompt_tokens: 10,
          completion_tokens: words.length,
          total_tokens: 10 + words.length,
        },
      },
    ],
  };
}

/** A reply calling tools (each call in two chunks: name, then arguments), then `tool_calls`. */
export function toolCallReply(
  calls: { id: string; name: string; arguments: unknown }[],
): MockReply {
  const events: MockEvent[] = [];
  calls.forEach((c, index) => {
    const args = typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments);
    events.push({ type: "tool_call", index, id: c.id, name: c.name, arguments: "" });
    events.push({ type: "tool_call", index, arguments: args });
  });
  events.push({ type: "finish", reason: "tool_calls" });
  events.push({
    type: "usage",
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  });
  return { kind: "reply", events };
}

/** The mock server; see the module doc. */
export class OpenAIMock {
  /** Base URL for the client, ending in `/v1`. */
  readonly baseUrl: string;
  readonly model: string;
  /** Every request received, in arrival order. */
  readonly requests: RecordedRequest[] = [];
  readonly #queue: MockResponse[] = [];
  readonly #fallback: NonNullable<OpenAIMockOptions["fallback"]>;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #shutdown: AbortController;
  readonly #inflight = new Set<AbortController>();
  #abortWaiters: (() => void)[] = [];

  private constructor(
    server: Deno.HttpServer<Deno.NetAddr>,
    shutdown: AbortController,
    options: OpenAIMockOptions,
    handlerRef: { current?: (req: Request) => Promise<Response> },
  ) {
    this.#server = server;
    this.#shutdown = shutdown;
    this.model = options.model ?? "mock-model";
    this.#fallback = options.fallback ??
      { kind: "error", status: 500, message: "OpenAI mock: no scripted response left" };
    this.baseUrl = `http://127.0.0.1:${server.addr.port}/v1`;
    handlerRef.current = (req) => this.#handle(req);
  }

  /** Starts listening on 127.0.0.1 with a random port. */
  static start(options: OpenAIMockOptions = {}): Promise<OpenAIMock> {
    const shutdown = new AbortController();
    const ref: { current?: (req: Request) => Promise<Response> } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, signal: shutdown.signal, onListen: () => {} },
      (req) => ref.current!(req),
    );
    return Promise.resolve(new OpenAIMock(server, shutdown, options, ref));
  }

  /** Queues responses for the next completion requests, in order. */
  enqueue(...responses: MockResponse[]): void {
    this.#queue.push(...responses);
  }

  /** Scripted responses not consumed yet. */
  get pending(): number {
    return this.#queue.length;
  }

  /** Completion requests received so far. */
  get completionRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === "/v1/chat/completions");
  }

  /** Resolves once any request has been aborted by the client (or `timeoutMs` passes: rejects). */
  waitForAbort(timeoutMs = 2000): Promise<void> {
    if (this.requests.some((r) => r.aborted)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#abortWaiters = this.#abortWaiters.filter((w) => w !== done);
        reject(new Error(`OpenAI mock: no request was aborted within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#abortWaiters.push(done);
    });
  }

  /** Stops the server and ends every open response. */
  async close(): Promise<void> {
    for (const ac of this.#inflight) ac.abort();
    this.#shutdown.abort();
    await this.#server.finished;
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    let body: unknown;
    if (req.method !== "GET") {
      const text = await req.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    const record: RecordedRequest = {
      method: req.method,
      path: url.pathname,
      headers: req.headers,
      body,
      aborted: false,
      completed: false,
    };
    this.requests.push(record);
    const life = new AbortController();
    this.#inflight.add(life);
    const markAborted = () => {
      if (record.completed || record.aborted) return;
      record.aborted = true;
      life.abort();
      const waiters = this.#abortWaiters;
      this.#abortWaiters = [];
      for (const w of waiters) w();
    };
    // Not `req.signal`: Deno.serve fires it only after the response, so a
    // disconnect is seen through the streamed body's `cancel()` instead.
    const finish = () => {
      this.#inflight.delete(life);
    };

    if (req.method === "GET" && url.pathname === "/v1/models") {
      record.completed = true;
      finish();
      return Response.json({
        object: "list",
        data: [{ id: this.model, object: "model", created: 0, owned_by: "openai-mock" }],
      });
    }
    if (req.method !== "POST" || url.pathname !== "/v1/chat/completions") {
      record.completed = true;
      finish();
      return errorResponse({ kind: "error", status: 404, message: `No route ${url.pathname}` });
    }

    // Like OpenAI: one bad function name fails the whole request, before any script runs.
    const badTool = invalidToolName(body);
    if (badTool !== undefined) {
      record.completed = true;
      finish();
      return errorResponse({
        kind: "error",
        status: 400,
        type: "invalid_request_error",
        code: "invalid_value",
        message:
          `Invalid '${badTool}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'.`,
      });
    }
    const next = this.#queue.shift() ??
      (typeof this.#fallback === "function" ? this.#fallback(record) : this.#fallback);
    // deno-lint-ignore no-explicit-any
    const stream = (body as any)?.stream === true;
    switch (next.kind) {
      case "hang":
        await new Promise<void>((resolve) => {
          if (life.signal.aborted) resolve();
          life.signal.addEventListener("abort", () => resolve(), { once: true });
        });
        finish();
        return new Response(null, { status: 499 });
      case "error":
        record.completed = true;
        finish();
        return errorResponse(next);
      case "reply":
        if (next.headerDelayMs) await sleep(next.headerDelayMs, life.signal);
        if (life.signal.aborted) {
          finish();
          return new Response(null, { status: 499 });
        }
        if (!stream) return this.#json(next, record, life, finish, markAborted);
        return this.#sse(next, record, life, finish, markAborted);
    }
  }

  #sse(
    reply: MockReply,
    record: RecordedRequest,
    life: AbortController,
    finish: () => void,
    markAborted: () => void,
  ): Response {
    const id = `chatcmpl-mock-${crypto.randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const model = this.model;
    const encoder = new TextEncoder();
    const meta: Record<string, unknown> = {};
    if (reply.systemFingerprint) meta.system_fingerprint = reply.systemFingerprint;
    if (reply.serviceTier) meta.service_tier = reply.serviceTier;
    const chunk = (extra: Record<string, unknown>) =>
      encoder.encode(
        `data: ${
          JSON.stringify({ id, object: "chat.completion.chunk", created, model, ...meta, ...extra })
        }\n\n`,
      );
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        try {
          controller.enqueue(chunk({
            choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
          }));
          let first = true;
          for (const ev of reply.events) {
            if (life.signal.aborted) return;
            if (ev.type === "delay") {
              await sleep(ev.ms, life.signal);
              continue;
            }
            if (!first && reply.chunkDelayMs) await sleep(reply.chunkDelayMs, life.signal);
            if (life.signal.aborted) return;
            first = false;
            switch (ev.type) {
              case "text":
                controller.enqueue(chunk({
                  choices: [{
                    index: 0,
                    delta: { content: ev.content },
                    logprobs: ev.logprobs ? { content: ev.logprobs, refusal: null } : null,
                    finish_reason: null,
                  }],
                }));
                break;
              case "refusal":
                controller.enqueue(chunk({
                  choices: [{ index: 0, delta: { refusal: ev.content }, finish_reason: null }],
                }));
                break;
              case "tool_call": {
                const tc: Record<string, unknown> = {};
                if (ev.index !== undefined) tc.index = ev.index;
                if (ev.id !== undefined) {
                  tc.id = ev.id;
                  tc.type = "function";
                }
                const fn: Record<string, unknown> = {};
                if (ev.name !== undefined) fn.name = ev.name;
                if (ev.arguments !== undefined) fn.arguments = ev.arguments;
                tc.function = fn;
                controller.enqueue(chunk({
                  choices: [{ index: 0, delta: { tool_calls: [tc] }, finish_reason: null }],
                }));
                break;
              }
              case "finish":
                controller.enqueue(chunk({
                  choices: [{ index: 0, delta: {}, finish_reason: ev.reason }],
                }));
                break;
              case "usage":
                controller.enqueue(chunk({ choices: [], usage: ev.usage }));
                break;
              case "raw":
                controller.enqueue(encoder.encode(ev.data));
                break;
              case "cut":
                controller.error(new Error("OpenAI mock: connection cut"));
                record.completed = true;
                finish();
                return;
            }
          }
          if (!reply.omitDone) controller.enqueue(encoder.encode("data: [DONE]\n\n"));
          record.completed = true;
          controller.close();
        } catch (err) {
          if (!life.signal.aborted) controller.error(err);
        } finally {
          finish();
        }
      },
      cancel() {
        // The client went away mid-body (a completed body is never cancelled).
        markAborted();
        life.abort();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-request-id": id,
      },
    });
  }

  /**
   * A non-streaming answer. It takes as long as its stream would (its
   * pauses): the headers go out at once and the JSON body when the time is
   * up, so a client that hangs up meanwhile is seen (the body is cancelled).
   */
  #json(
    reply: MockReply,
    record: RecordedRequest,
    life: AbortController,
    finish: () => void,
    markAborted: () => void,
  ): Response {
    // The stream's faults, in JSON: `raw` data makes the body malformed, `cut` breaks it.
    let text = JSON.stringify(this.#assemble(reply));
    const raw = reply.events.filter((e) => e.type === "raw").map((e) => e.data).join("");
    const cut = reply.events.some((e) => e.type === "cut");
    if (raw !== "" || cut) text = text.slice(0, text.length >> 1) + raw;
    const bytes = new TextEncoder().encode(text);
    const waitMs = streamDurationMs(reply);
    if (waitMs === 0 && !cut) {
      record.completed = true;
      finish();
      return new Response(bytes, { headers: { "content-type": "application/json" } });
    }
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        await sleep(waitMs, life.signal);
        if (!life.signal.aborted) {
          controller.enqueue(bytes);
          if (cut) {
            controller.error(new Error("OpenAI mock: connection cut"));
          } else {
            record.completed = true;
            controller.close();
          }
        }
        finish();
      },
      cancel() {
        markAborted();
        life.abort();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  }

  /** The non-streaming completion equivalent of a scripted stream. */
  #assemble(reply: MockReply): Record<string, unknown> {
    let content = "";
    let refusal: string | null = null;
    let logprobs: unknown[] | undefined;
    let finishReason: string | null = null;
    let usage: MockUsage | undefined;
    const calls: { id: string; type: "function"; function: { name: string; arguments: string } }[] =
      [];
    for (const ev of reply.events) {
      if (ev.type === "text") {
        content += ev.content;
        if (ev.logprobs) logprobs = [...(logprobs ?? []), ...ev.logprobs];
      } else if (ev.type === "refusal") refusal = (refusal ?? "") + ev.content;
      else if (ev.type === "finish") finishReason = ev.reason;
      else if (ev.type === "usage") usage = ev.usage;
      else if (ev.type === "tool_call") {
        let call = ev.index !== undefined ? calls[ev.index] : calls.at(-1);
        if (!call) {
          call = { id: "", type: "function", function: { name: "", arguments: "" } };
          calls[ev.index ?? calls.length] = call;
        }
        if (ev.id) call.id = ev.id;
        if (ev.name) call.function.name = ev.name;
        if (ev.arguments) call.function.arguments += ev.arguments;
      }
    }
    const message: Record<string, unknown> = {
      role: "assistant",
      content: content || null,
      refusal,
    };
    if (calls.length > 0) message.tool_calls = calls.filter(Boolean);
    return {
      id: `chatcmpl-mock-${crypto.randomUUID()}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: this.model,
      ...(reply.systemFingerprint ? { system_fingerprint: reply.systemFingerprint } : {}),
      ...(reply.serviceTier ? { service_tier: reply.serviceTier } : {}),
      choices: [{
        index: 0,
        message,
        finish_reason: finishReason ?? "stop",
        logprobs: logprobs ? { content: logprobs, refusal: null } : null,
      }],
      ...(usage ? { usage } : {}),
    };
  }
}

/** How long the streamed form of `reply` takes to send: its pauses. */
function streamDurationMs(reply: MockReply): number {
  let ms = 0;
  let steps = 0;
  for (const ev of reply.events) {
    if (ev.type === "delay") ms += ev.ms;
    else steps++;
  }
  return ms + (reply.chunkDelayMs ?? 0) * Math.max(0, steps - 1);
}

/** The path of the first `tools[i].function.name` OpenAI would refuse, if any. */
function invalidToolName(body: unknown): string | undefined {
  const tools = (body as { tools?: unknown })?.tools;
  if (!Array.isArray(tools)) return undefined;
  const i = tools.findIndex((t) => {
    const name = (t as { function?: { name?: unknown } })?.function?.name;
    return typeof name !== "string" || !/^[a-zA-Z0-9_-]{1,64}$/.test(name);
  });
  return i < 0 ? undefined : `tools[${i}].function.name`;
}

function errorResponse(e: MockHttpError): Response {
  return Response.json(
    {
      error: {
        message: e.message,
        type: e.type ?? (e.status === 429 ? "rate_limit_error" : "server_error"),
        param: null,
        code: e.code ?? null,
      },
    },
    { status: e.status, headers: e.headers },
  );
}

/** Resolves after `ms`, or at once when `signal` aborts (the timer is cleared either way). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
