/**
 * The provider for any OpenAI-compatible Chat Completions endpoint (OpenAI,
 * Ollama, vLLM, LM Studio, llama.cpp server). The only module importing
 * `openai`. Streams always; assembles streamed tool-call deltas robustly and
 * maps every SDK failure to a stable {@linkcode ChatError} code.
 */
import OpenAI, {
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  RateLimitError,
} from "openai";
import type {
  ChatCompletionChunk,
  ChatCompletionCreateParamsStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { sseData } from "./sse.ts";
import { ChatError } from "../core/errors.ts";
import type { ChatMessage, FinishReason, ToolCall, Usage } from "../core/chat.ts";
import type { Provider, ProviderCallOptions, ProviderEvent, ProviderRequest } from "./provider.ts";

export interface OpenAIProviderOptions {
  /** Absent (local servers): a placeholder is sent, since the SDK requires one. */
  apiKey?: string;
  /** Absent: the SDK's default, https://api.openai.com/v1. */
  baseUrl?: string;
  model: string;
  /** Default temperature; undefined sends none (the model's default). */
  temperature: number | undefined;
  /**
   * Bound on the wait for the response headers (per attempt) and on the
   * silence between two stream chunks.
   */
  timeoutMs: number;
  /** Retries happen only before the first byte of a response (SDK behaviour). */
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

/** Chat Completions over `npm:openai`, streaming. */
export class OpenAIProvider implements Provider {
  readonly model: string;
  readonly offline = false;
  readonly #client: OpenAI;
  readonly #options: OpenAIProviderOptions;

  constructor(options: OpenAIProviderOptions) {
    this.model = options.model;
    this.#options = options;
    this.#client = new OpenAI({
      apiKey: options.apiKey ?? "not-needed",
      baseURL: options.baseUrl ?? "https://api.openai.com/v1",
      timeout: options.timeoutMs,
      maxRetries: options.maxRetries,
      fetch: options.fetch,
    });
  }

  async *complete(
    request: ProviderRequest,
    { signal }: ProviderCallOptions,
  ): AsyncGenerator<ProviderEvent> {
    signal.throwIfAborted();
    // Our own controller bounds the silence between chunks (the SDK's timeout
    // only covers the wait for headers).
    const idle = new AbortController();
    let idleTimedOut = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const idleMs = this.#options.timeoutMs;
    let idleDeadlineMs = Infinity;
    const onIdleTimer = () => {
      timer = undefined;
      if (idleDeadlineMs === Infinity) return;
      const left = idleDeadlineMs - performance.now();
      if (left > 0) {
        timer = setTimeout(onIdleTimer, left);
        return;
      }
      idleTimedOut = true;
      idle.abort();
    };
    const armIdle = () => {
      idleDeadlineMs = performance.now() + idleMs;
      timer ??= setTimeout(onIdleTimer, idleMs);
    };
    const requestSignal = AbortSignal.any([signal, idle.signal]);
    const o = request.overrides ?? {};
    const body: ChatCompletionCreateParamsStreaming = {
      model: o.model ?? this.model,
      messages: request.messages.map(toOpenAIMessage),
      // Unset unless someone asked: reasoning models refuse any temperature.
      ...((o.temperature ?? this.#options.temperature) === undefined
        ? {}
        : { temperature: o.temperature ?? this.#options.temperature }),
      stream: true,
      stream_options: { include_usage: true },
    };
    if (o.maxTokens !== undefined) body[o.maxTokensField ?? "max_tokens"] = o.maxTokens;
    if (o.topP !== undefined) body.top_p = o.topP;
    if (o.stop !== undefined && o.stop.length > 0) body.stop = o.stop;
    if (request.tools && request.tools.length > 0) body.tools = request.tools.map(toOpenAITool);

    const assembler = new ToolCallAssembler();
    let finishReason: FinishReason | undefined;
    let usage: Usage | undefined;
    let model: string | undefined;
    let completed = false;
    try {
      // The SDK builds, authenticates, retries and checks the request; the
      // stream itself is read with a lean SSE reader (the SDK's costs about
      // twice as much per chunk, on the hottest path of every reply).
      const response = await this.#client.chat.completions.create(body, {
        signal: requestSignal,
      }).asResponse();
      if (response.body === null) throw new ChatError("upstream_error", "Provider sent no body");
      armIdle();
      for await (const data of sseData(response.body, { onRead: armIdle })) {
        if (data === "[DONE]") {
          completed = true;
          break;
        }
        const chunk = JSON.parse(data) as ChatCompletionChunk & { error?: { message?: string } };
        if (chunk.error) {
          throw new ChatError(
            "upstream_error",
            this.#redact(`Provider reported an error mid-stream: ${chunk.error.message ?? data}`),
          );
        }
        // The idle bound is on the provider, not on a slow consumer: pause it
        // while this chunk's deltas are handed out.
        idleDeadlineMs = Infinity;
        if (chunk.model) model = chunk.model;
        if (chunk.usage) {
          usage = {
            prompt_tokens: chunk.usage.prompt_tokens ?? 0,
            completion_tokens: chunk.usage.completion_tokens ?? 0,
            total_tokens: chunk.usage.total_tokens ?? 0,
          };
        }
        for (const choice of chunk.choices ?? []) {
          if ((choice.index ?? 0) !== 0) continue;
          const delta = choice.delta ?? {};
          if (typeof delta.content === "string" && delta.content.length > 0) {
            yield { type: "delta", content: delta.content };
          }
          for (const tc of delta.tool_calls ?? []) assembler.add(tc);
          if (choice.finish_reason) finishReason = FINISH_REASONS[choice.finish_reason] ?? "stop";
        }
        armIdle();
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
    } catch (err) {
      throw this.#toEngineError(err, signal, idleTimedOut);
    } finally {
      clearTimeout(timer);
    }
    const calls = assembler.finish();
    if (calls.length > 0) {
      yield { type: "tool_calls", calls };
      if (finishReason === "stop") finishReason = "tool_calls";
    }
    yield { type: "finish", finishReason, usage, model };
  }

  #toEngineError(err: unknown, signal: AbortSignal, idleTimedOut: boolean): ChatError {
    // The SDK may end a stream quietly on abort: check our own signals first.
    if (signal.aborted) return new ChatError("cancelled", "The request was cancelled");
    if (idleTimedOut) {
      return new ChatError(
        "upstream_timeout",
        `Provider sent nothing for ${this.#options.timeoutMs} ms`,
        { cause: err },
      );
    }
    if (err instanceof ChatError) return err;
    if (err instanceof APIConnectionTimeoutError) {
      return new ChatError(
        "upstream_timeout",
        `Provider did not answer within ${this.#options.timeoutMs} ms`,
        { cause: err },
      );
    }
    if (err instanceof APIUserAbortError) {
      return new ChatError("cancelled", "The request was cancelled");
    }
    if (err instanceof RateLimitError || (err instanceof APIError && err.status === 429)) {
      return new ChatError(
        "rate_limited",
        this.#redact(`Provider rate-limited the request (HTTP 429): ${err.message}`),
        { cause: err },
      );
    }
    if (err instanceof APIError && typeof err.status === "number") {
      return new ChatError(
        "upstream_error",
        this.#redact(`Provider answered HTTP ${err.status}: ${err.message}`),
        { cause: err },
      );
    }
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

type ToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta["tool_calls"]>[number];

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

  add(delta: ToolCallDelta | Record<string, unknown>): void {
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

function toOpenAIMessage(m: ChatMessage): ChatCompletionMessageParam {
  switch (m.role) {
    case "system":
      return { role: "system", content: m.content ?? "" };
    case "user":
      return { role: "user", content: m.content ?? "" };
    case "assistant":
      if (m.tool_calls && m.tool_calls.length > 0) {
        return {
          role: "assistant",
          content: m.content,
          tool_calls: m.tool_calls.map((c) => ({
            id: c.id,
            type: "function" as const,
            function: { name: c.name, arguments: c.arguments },
          })),
        };
      }
      return { role: "assistant", content: m.content ?? "" };
    case "tool":
      return { role: "tool", tool_call_id: m.tool_call_id ?? "", content: m.content ?? "" };
    default: {
      const never: never = m.role;
      throw new TypeError(`Unknown message role "${never}"`);
    }
  }
}

function toOpenAITool(spec: { name: string; description: string; parameters: object }) {
  return {
    type: "function" as const,
    function: {
      name: spec.name,
      description: spec.description,
      parameters: spec.parameters as Record<string, unknown>,
    },
  } satisfies ChatCompletionTool;
}
