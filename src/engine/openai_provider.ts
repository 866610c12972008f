/**
 * The provider for any OpenAI-compatible Chat Completions endpoint (OpenAI,
 * Ollama, vLLM, LM Studio, llama.cpp server), spoken directly over `fetch`:
 * every request field the client sent reaches the endpoint unchanged
 * (yychat adds its prompt, memory and tools), and every answer field it
 * returns is kept. Streams when the client reads a stream, else asks for one
 * JSON answer. Assembles streamed tool-call deltas robustly and maps every
 * failure to a stable {@linkcode ChatError} code, keeping an upstream 4xx's
 * status, message (keys scrubbed), `param`, code and `Retry-After`.
 *
 * Retries (`maxRetries`, before any byte of an answer): connection errors,
 * timeouts waiting for headers, HTTP 408, 409, 429 and 5xx, with exponential
 * backoff (0.5 s doubling to 8 s, jittered) or the provider's
 * `Retry-After`/`retry-after-ms` when it asks for at most 60 s; an
 * `x-should-retry` header from the provider overrides the rule.
 *
 * Written against the wire format rather than through the `openai` SDK:
 * the SDK's request path (header building, its retry wrapper, response
 * parsing) cost as much CPU per request as everything else yychat does, on
 * the path every completion takes (`docs/BENCHMARKS.md`).
 */
import { sseBatches } from "../core/sse.ts";
import { ChatError } from "../core/errors.ts";
import {
  type ChatMessage,
  type ClientTool,
  concatLogprobs,
  type FinishReason,
  type Logprobs,
  type ToolCall,
  type Usage,
} from "../core/chat.ts";
import type { Provider, ProviderCallOptions, ProviderEvent, ProviderRequest } from "./provider.ts";
import type { ToolSpec } from "../tools/tool.ts";

export interface OpenAIProviderOptions {
  /** Absent (local servers): no `Authorization` header is sent. */
  apiKey?: string;
  /** Absent: https://api.openai.com/v1. */
  baseUrl?: string;
  model: string;
  /** Default temperature; undefined sends none (the model's default). */
  temperature: number | undefined;
  /**
   * Bound on the wait for the response headers (per attempt), on reading a
   * JSON answer, and on the silence between two stream chunks.
   */
  timeoutMs: number;
  /** Retries happen only before the first byte of an answer (see the module doc). */
  maxRetries: number;
  /** Tests inject a fetch; default the global one. */
  fetch?: typeof fetch;
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: "stop",
  length: "length",
  tool_calls: "tool_calls",
  function_call: "tool_calls",
  content_filter: "content_filter",
};

/** Longest error body read from a provider (the rest is not needed for a message). */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** Longest provider message passed on to a client. */
const MAX_ERROR_MESSAGE_CHARS = 2000;

/** The wire shape of what a provider answers (only the fields yychat reads). */
interface WireChoice {
  index?: number;
  delta?: WireMessage;
  message?: WireMessage;
  finish_reason?: string | null;
  logprobs?: Logprobs | null;
}
interface WireMessage {
  content?: string | null;
  refusal?: string | null;
  tool_calls?: Record<string, unknown>[];
}
interface WireAnswer {
  choices?: WireChoice[];
  usage?: Record<string, unknown> | null;
  model?: string;
  system_fingerprint?: string | null;
  service_tier?: string | null;
  error?: { message?: string };
}

/** Chat Completions over `fetch`; see the module doc. */
export class OpenAIProvider implements Provider {
  readonly model: string;
  readonly offline = false;
  readonly #options: OpenAIProviderOptions;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;
  readonly #watchdog: Watchdog;

  constructor(options: OpenAIProviderOptions) {
    this.model = options.model;
    this.#options = options;
    this.#url = `${(options.baseUrl ?? "https://api.openai.com/v1").replace(/\/+$/, "")}` +
      "/chat/completions";
    this.#headers = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
      ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}),
    };
    this.#fetch = options.fetch ?? fetch;
    this.#watchdog = new Watchdog(options.timeoutMs);
  }

  async *complete(
    request: ProviderRequest,
    { signal }: ProviderCallOptions,
  ): AsyncGenerator<ProviderEvent> {
    signal.throwIfAborted();
    const stream = request.stream !== false;
    const body = JSON.stringify(this.#body(request, stream));
    const call = new Call(signal, this.#options.timeoutMs, this.#watchdog);
    try {
      const response = await this.#send(body, call);
      if (response.body === null) throw new ChatError("upstream_error", "Provider sent no body");
      if (stream) yield* this.#readStream(response.body, call);
      else yield* this.#readJson(response, call);
    } catch (err) {
      throw this.#toEngineError(err, call);
    } finally {
      call.end();
    }
  }

  /** The request body: the client's fields unchanged, then what yychat decides. */
  #body(request: ProviderRequest, stream: boolean): Record<string, unknown> {
    const body: Record<string, unknown> = { ...request.params };
    body.model = request.params?.model ?? this.model;
    body.messages = request.messages.map(toOpenAIMessage);
    // Unset unless someone asked: reasoning models refuse any temperature.
    const temperature = request.params?.temperature ?? this.#options.temperature;
    if (temperature === undefined) delete body.temperature;
    else body.temperature = temperature;
    body.stream = stream;
    if (stream) body.stream_options = { include_usage: true };
    else delete body.stream_options;
    const tools: unknown[] = [];
    for (const spec of request.tools ?? []) tools.push(toOpenAITool(spec));
    for (const tool of request.clientTools ?? []) tools.push(tool);
    if (tools.length > 0) {
      body.tools = tools;
    } else {
      // OpenAI refuses these without tools (yychat may offer none this round).
      delete body.tools;
      delete body.tool_choice;
      delete body.parallel_tool_calls;
    }
    return body;
  }

  /** Sends the request, retrying as the module doc says; resolves with a 2xx response. */
  async #send(body: string, call: Call): Promise<Response> {
    for (let attempt = 0;; attempt++) {
      let response: Response;
      call.armHeaders();
      try {
        response = await this.#fetch(this.#url, {
          method: "POST",
          headers: this.#headers,
          body,
          signal: call.signal,
        });
      } catch (err) {
        if (call.cancelled) throw err;
        const timedOut = call.timedOut;
        if (attempt < this.#options.maxRetries) {
          call.reset();
          await call.sleep(backoffMs(attempt, undefined));
          continue;
        }
        if (timedOut) {
          throw new ChatError(
            "upstream_timeout",
            `Provider did not answer within ${this.#options.timeoutMs} ms`,
            { cause: err },
          );
        }
        throw err;
      } finally {
        call.disarm();
      }
      if (response.ok) return response;
      const retry = shouldRetry(response);
      if (retry && attempt < this.#options.maxRetries) {
        await response.body?.cancel().catch(() => {});
        await call.sleep(backoffMs(attempt, response.headers));
        continue;
      }
      throw await this.#statusError(response);
    }
  }

  /** The error for a non-2xx answer: the provider's status, message, param and code. */
  async #statusError(response: Response): Promise<ChatError> {
    const status = response.status;
    const text = await readBounded(response, MAX_ERROR_BODY_BYTES).catch(() => "");
    let upstream: { message?: unknown; param?: unknown; code?: unknown } = {};
    try {
      const parsed = JSON.parse(text);
      upstream = (parsed?.error && typeof parsed.error === "object" ? parsed.error : parsed) ?? {};
    } catch {
      upstream = { message: text };
    }
    const raw = typeof upstream.message === "string" && upstream.message.trim() !== ""
      ? upstream.message
      : `HTTP ${status}`;
    const message = this.#redact(raw).slice(0, MAX_ERROR_MESSAGE_CHARS);
    const param = typeof upstream.param === "string" ? upstream.param : undefined;
    const upstreamCode = typeof upstream.code === "string" ? upstream.code : undefined;
    if (status === 429) {
      return new ChatError(
        "rate_limited",
        `Provider rate-limited the request (HTTP 429): ${message}`,
        {
          status,
          retryAfterSeconds: retryAfterSeconds(response.headers),
          upstreamCode,
        },
      );
    }
    if (status === 401 || status === 403) {
      return new ChatError(
        "upstream_auth_error",
        `Provider refused the server's credentials (HTTP ${status}): ${message}`,
        { status, upstreamCode },
      );
    }
    if (status >= 400 && status < 500) {
      return new ChatError("upstream_invalid_request", message, { status, param, upstreamCode });
    }
    return new ChatError("upstream_error", `Provider answered HTTP ${status}: ${message}`, {
      upstreamCode,
    });
  }

  /** One JSON answer as events. */
  async *#readJson(response: Response, call: Call): AsyncGenerator<ProviderEvent> {
    call.armIdle();
    const answer = await response.json() as WireAnswer;
    call.pauseIdle();
    if (answer?.error) {
      throw new ChatError(
        "upstream_error",
        this.#redact(`Provider reported an error: ${answer.error.message ?? "(no message)"}`),
      );
    }
    const choice = answer.choices?.find((c) => (c.index ?? 0) === 0);
    if (choice === undefined) {
      throw new ChatError("upstream_error", "Provider answered without a choice");
    }
    const message = choice.message ?? {};
    const content = typeof message.content === "string" ? message.content : "";
    const delta: Extract<ProviderEvent, { type: "delta" }> = { type: "delta", content };
    if (typeof message.refusal === "string") delta.refusal = message.refusal;
    if (choice.logprobs) delta.logprobs = logprobsOf(choice.logprobs);
    if (content !== "" || delta.refusal !== undefined || delta.logprobs !== undefined) yield delta;
    const assembler = new ToolCallAssembler();
    for (const tc of message.tool_calls ?? []) assembler.add(tc);
    let finishReason = FINISH_REASONS[choice.finish_reason ?? "stop"] ?? "stop";
    const calls = assembler.finish();
    if (calls.length > 0) {
      yield { type: "tool_calls", calls };
      if (finishReason === "stop") finishReason = "tool_calls";
    }
    yield finish(finishReason, answer);
  }

  /** A streamed answer as events: one `delta` per network read (its chunks joined). */
  async *#readStream(
    body: ReadableStream<Uint8Array>,
    call: Call,
  ): AsyncGenerator<ProviderEvent> {
    const assembler = new ToolCallAssembler();
    let finishReason: FinishReason | undefined;
    let completed = false;
    const meta: WireAnswer = {};
    call.armIdle();
    for await (const batch of sseBatches(body, { onRead: call.armIdle })) {
      // The idle bound is on the provider, not on a slow consumer: pause it
      // while this read's deltas are handed out.
      call.pauseIdle();
      let content = "";
      let refusal: string | undefined;
      let logprobs: Logprobs | undefined;
      for (const data of batch) {
        if (data === "[DONE]") {
          completed = true;
          break;
        }
        const chunk = JSON.parse(data) as WireAnswer;
        if (chunk.error) {
          throw new ChatError(
            "upstream_error",
            this.#redact(`Provider reported an error mid-stream: ${chunk.error.message ?? data}`),
          );
        }
        if (chunk.model) meta.model = chunk.model;
        if (chunk.usage) meta.usage = chunk.usage;
        if (chunk.system_fingerprint) meta.system_fingerprint = chunk.system_fingerprint;
        if (chunk.service_tier) meta.service_tier = chunk.service_tier;
        const choices = chunk.choices;
        if (choices === undefined) continue;
        for (let i = 0; i < choices.length; i++) {
          const choice = choices[i]!;
          if ((choice.index ?? 0) !== 0) continue;
          const delta = choice.delta;
          if (delta) {
            if (typeof delta.content === "string") content += delta.content;
            if (typeof delta.refusal === "string") refusal = (refusal ?? "") + delta.refusal;
            if (delta.tool_calls) { for (const tc of delta.tool_calls) assembler.add(tc); }
          }
          if (choice.logprobs) logprobs = concatLogprobs(logprobs, logprobsOf(choice.logprobs));
          if (choice.finish_reason) finishReason = FINISH_REASONS[choice.finish_reason] ?? "stop";
        }
      }
      if (content !== "" || refusal !== undefined || logprobs !== undefined) {
        const event: Extract<ProviderEvent, { type: "delta" }> = { type: "delta", content };
        if (refusal !== undefined) event.refusal = refusal;
        if (logprobs !== undefined) event.logprobs = logprobs;
        yield event;
      }
      if (completed) break;
      call.armIdle();
    }
    // Some compatible servers end properly (`[DONE]`) without ever sending
    // a finish reason; only a stream that just stops was cut short.
    if (finishReason === undefined && completed) finishReason = "stop";
    if (finishReason === undefined) {
      throw new ChatError(
        "upstream_error",
        "Provider stream ended before a finish reason: the response was cut short",
      );
    }
    const calls = assembler.finish();
    if (calls.length > 0) {
      yield { type: "tool_calls", calls };
      if (finishReason === "stop") finishReason = "tool_calls";
    }
    yield finish(finishReason, meta);
  }

  #toEngineError(err: unknown, call: Call): ChatError {
    // A read may end quietly on abort: check our own signals first.
    if (call.cancelled) return new ChatError("cancelled", "The request was cancelled");
    if (call.idleTimedOut) {
      return new ChatError(
        "upstream_timeout",
        `Provider sent nothing for ${this.#options.timeoutMs} ms`,
        { cause: err },
      );
    }
    if (err instanceof ChatError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new ChatError("upstream_error", this.#redact(`Provider request failed: ${message}`), {
      cause: err,
    });
  }

  /** Error texts may echo the key (401 bodies do): never let it reach a client or log. */
  #redact(message: string): string {
    let out = message;
    const key = this.#options.apiKey;
    if (key && key.length >= 4) out = out.replaceAll(key, "[redacted]");
    return out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, "sk-[redacted]");
  }
}

/**
 * One timer for all the calls of a provider: every quarter of the timeout
 * (at most a second) it checks each running call, instead of a timer armed
 * and cleared per request and re-armed per read. A timeout therefore fires
 * between one and one and a quarter timeouts after the silence began. The
 * timer runs only while calls do.
 */
class Watchdog {
  readonly #calls = new Set<Call>();
  readonly #periodMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(timeoutMs: number) {
    this.#periodMs = Math.max(5, Math.min(1000, timeoutMs / 4));
  }

  watch(call: Call): void {
    this.#calls.add(call);
    this.#timer ??= setInterval(this.#sweep, this.#periodMs);
  }

  unwatch(call: Call): void {
    this.#calls.delete(call);
    if (this.#calls.size === 0 && this.#timer !== undefined) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  readonly #sweep = (): void => {
    const now = performance.now();
    for (const call of this.#calls) call.check(now);
  };
}

/**
 * One provider call's abort and timeouts: the caller's signal, the wait for
 * headers, and the silence between reads, all aborting one controller.
 * Reads only count themselves; the provider's {@linkcode Watchdog} decides
 * when silence has lasted too long.
 */
class Call {
  readonly #caller: AbortSignal;
  readonly #timeoutMs: number;
  readonly #watchdog: Watchdog;
  #controller = new AbortController();
  /** `quiet`: nothing is timed (between attempts, or yychat itself is busy). */
  #phase: "headers" | "body" | "quiet" = "quiet";
  #reads = 0;
  #seenReads = 0;
  #sinceMs = 0;
  #headersTimedOut = false;
  /** The provider went silent past the timeout while a body was read. */
  idleTimedOut = false;
  readonly #onCallerAbort = () => this.#controller.abort();

  constructor(caller: AbortSignal, timeoutMs: number, watchdog: Watchdog) {
    this.#caller = caller;
    this.#timeoutMs = timeoutMs;
    this.#watchdog = watchdog;
    caller.addEventListener("abort", this.#onCallerAbort, { once: true });
    watchdog.watch(this);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#caller.aborted;
  }

  get timedOut(): boolean {
    return this.#headersTimedOut;
  }

  /** Bounds the wait for the next response's headers. */
  armHeaders(): void {
    this.#headersTimedOut = false;
    this.#phase = "headers";
    this.#sinceMs = performance.now();
  }

  disarm(): void {
    this.#phase = "quiet";
  }

  /** A fresh controller for the next attempt (the last one was aborted by a timeout). */
  reset(): void {
    if (this.#controller.signal.aborted) this.#controller = new AbortController();
  }

  /** A sign of life while a body is read (every read counts, comments too). */
  readonly armIdle = (): void => {
    this.#reads++;
    this.#phase = "body";
  };

  /** Stops counting silence (yychat, not the provider, is busy). */
  pauseIdle(): void {
    this.#phase = "quiet";
  }

  /** Called by the watchdog: aborts the call once it was silent for the timeout. */
  check(now: number): void {
    if (this.#phase === "quiet" || this.#reads !== this.#seenReads) {
      this.#seenReads = this.#reads;
      this.#sinceMs = now;
      return;
    }
    if (now - this.#sinceMs < this.#timeoutMs) return;
    if (this.#phase === "headers") this.#headersTimedOut = true;
    else this.idleTimedOut = true;
    this.#phase = "quiet";
    this.#controller.abort();
  }

  /** Waits `ms` unless the caller cancels first. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(new ChatError("cancelled", "The request was cancelled"));
      };
      const timer = setTimeout(() => {
        this.#caller.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      this.#caller.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Stops watching and releases the caller's listener. */
  end(): void {
    this.#watchdog.unwatch(this);
    this.#caller.removeEventListener("abort", this.#onCallerAbort);
  }
}

function finish(finishReason: FinishReason, answer: WireAnswer): ProviderEvent {
  const event: Extract<ProviderEvent, { type: "finish" }> = {
    type: "finish",
    finishReason,
    usage: usageOf(answer.usage),
    model: answer.model,
  };
  if (answer.system_fingerprint) event.systemFingerprint = answer.system_fingerprint;
  if (answer.service_tier) event.serviceTier = answer.service_tier;
  return event;
}

/** The provider's usage with its detail objects; counts default to 0. */
function usageOf(raw: Record<string, unknown> | null | undefined): Usage | undefined {
  if (!raw) return undefined;
  const n = (v: unknown) => typeof v === "number" ? v : 0;
  const usage: Usage = {
    prompt_tokens: n(raw.prompt_tokens),
    completion_tokens: n(raw.completion_tokens),
    total_tokens: n(raw.total_tokens),
  };
  if (raw.prompt_tokens_details && typeof raw.prompt_tokens_details === "object") {
    usage.prompt_tokens_details = raw.prompt_tokens_details as Record<string, unknown>;
  }
  if (raw.completion_tokens_details && typeof raw.completion_tokens_details === "object") {
    usage.completion_tokens_details = raw.completion_tokens_details as Record<string, unknown>;
  }
  return usage;
}

function logprobsOf(raw: Logprobs): Logprobs {
  const out: Logprobs = {};
  if (Array.isArray(raw.content)) out.content = raw.content;
  if (Array.isArray(raw.refusal)) out.refusal = raw.refusal;
  return out;
}

/** Whether to retry a failed answer: the provider's `x-should-retry`, else by status. */
function shouldRetry(response: Response): boolean {
  const header = response.headers.get("x-should-retry");
  if (header === "true") return true;
  if (header === "false") return false;
  const s = response.status;
  return s === 408 || s === 409 || s === 429 || s >= 500;
}

/** The wait before retry `attempt + 1`: the provider's ask (≤ 60 s), else exponential backoff. */
function backoffMs(attempt: number, headers: Headers | undefined): number {
  const asked = headers ? retryAfterMs(headers) : undefined;
  if (asked !== undefined && asked >= 0 && asked <= 60_000) return asked;
  const base = Math.min(500 * 2 ** attempt, 8000);
  return base * (1 - Math.random() * 0.25);
}

/** `retry-after-ms`, or `retry-after` in seconds or as an HTTP date. */
function retryAfterMs(headers: Headers): number | undefined {
  const ms = headers.get("retry-after-ms");
  if (ms !== null && Number.isFinite(Number(ms))) return Number(ms);
  const after = headers.get("retry-after");
  if (after === null) return undefined;
  const seconds = Number(after);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isNaN(date) ? undefined : date - Date.now();
}

/** What the client should wait before retrying, in whole seconds (at least 1). */
function retryAfterSeconds(headers: Headers): number | undefined {
  const ms = retryAfterMs(headers);
  return ms === undefined ? undefined : Math.max(1, Math.ceil(ms / 1000));
}

/** At most `maxBytes` of a body, as text. */
async function readBounded(response: Response, maxBytes: number): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    while (total < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(total, maxBytes));
  let offset = 0;
  for (const c of chunks) {
    const part = c.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset >= bytes.length) break;
  }
  return new TextDecoder().decode(bytes);
}

interface PartialCall {
  index: number | undefined;
  id: string;
  name: string;
  arguments: string;
}

/**
 * Assembles streamed tool-call deltas. Servers differ: some omit `index`,
 * send the `id` after the name, repeat the name, or interleave parallel
 * calls. Placement: by `index` when present, else by `id`, else the most
 * recent call (a new call when another name arrives, or the same name after
 * complete JSON arguments).
 */
export class ToolCallAssembler {
  readonly #calls: PartialCall[] = [];
  #last: PartialCall | undefined;

  add(delta: Record<string, unknown>): void {
    const d = delta as {
      index?: number | null;
      id?: string | null;
      function?: { name?: string | null; arguments?: string | null } | null;
    };
    const name = d.function?.name ?? undefined;
    const args = d.function?.arguments ?? undefined;
    const id = d.id ?? undefined;
    let slot: PartialCall | undefined;
    if (typeof d.index === "number") {
      slot = this.#calls.find((c) => c.index === d.index);
      if (!slot && id) slot = this.#calls.find((c) => c.id === id);
      if (!slot) slot = this.#push(d.index);
    } else if (id) {
      slot = this.#calls.find((c) => c.id === id) ??
        (this.#last && this.#last.id === "" ? this.#last : undefined) ??
        this.#push(undefined);
    } else if (
      name && this.#last && this.#last.name !== "" &&
      (this.#last.name !== name || isCompleteJson(this.#last.arguments))
    ) {
      // A second name after a finished call starts a new call, even the same tool.
      slot = this.#push(undefined);
    } else {
      slot = this.#last ?? this.#push(undefined);
    }
    if (id && slot.id === "") slot.id = id;
    if (name && slot.name !== name) slot.name = slot.name === "" ? name : slot.name + name;
    if (args) slot.arguments += args;
    this.#last = slot;
  }

  /** The assembled calls in arrival order; missing ids are generated. */
  finish(): ToolCall[] {
    return this.#calls.map((c, i) => ({
      id: c.id || `call_${i}_${crypto.randomUUID().slice(0, 8)}`,
      name: c.name,
      arguments: c.arguments,
    }));
  }

  #push(index: number | undefined): PartialCall {
    const call: PartialCall = { index, id: "", name: "", arguments: "" };
    this.#calls.push(call);
    return call;
  }
}

function isCompleteJson(text: string): boolean {
  if (text.trim() === "") return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A message in OpenAI's shape: array content as the client sent it, the
 * client's other message fields unchanged, yychat's tool calls as OpenAI
 * writes them.
 */
function toOpenAIMessage(m: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = m.extra ? { ...m.extra } : {};
  out.role = m.role;
  switch (m.role) {
    case "system":
    case "user":
      out.content = m.parts ?? m.content ?? "";
      if (m.name !== undefined && m.role === "user") out.name = m.name;
      return out;
    case "assistant":
      out.content = m.parts ?? m.content ?? (m.tool_calls?.length ? null : "");
      if (m.name !== undefined) out.name = m.name;
      if (m.tool_calls && m.tool_calls.length > 0) {
        out.tool_calls = m.tool_calls.map((c) => ({
          id: c.id,
          type: "function",
          function: { name: c.name, arguments: c.arguments },
        }));
      }
      return out;
    case "tool":
      out.tool_call_id = m.tool_call_id ?? "";
      out.content = m.parts ?? m.content ?? "";
      return out;
    default: {
      const never: never = m.role;
      throw new TypeError(`Unknown message role "${never}"`);
    }
  }
}

function toOpenAITool(spec: ToolSpec): ClientTool {
  return {
    type: "function",
    function: { name: spec.name, description: spec.description, parameters: spec.parameters },
  };
}
