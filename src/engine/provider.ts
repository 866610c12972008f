/**
 * The provider port: how the chat engine talks to a model. One streaming
 * method is enough; non-streaming callers collect the events with
 * {@linkcode collectCompletion}. Implementations: `openai_provider.ts` (any
 * OpenAI-compatible endpoint, the only importer of `openai`) and
 * `offline_provider.ts` (the built-in demo provider).
 */
import type {
  ChatMessage,
  FinishReason,
  SamplingOverrides,
  ToolCall,
  Usage,
} from "../core/chat.ts";
import type { ToolSpec } from "../tools/tool.ts";

/** One model call: the whole prompt, the tools offered, and per-request sampling. */
export interface ProviderRequest {
  messages: ChatMessage[];
  /** Absent or empty: the model is offered no tools. */
  tools?: ToolSpec[];
  overrides?: SamplingOverrides;
}

/**
 * What a provider yields, in order: text deltas, at most one `tool_calls`
 * event (calls fully assembled, arguments as raw JSON text), then exactly one
 * `finish`.
 */
export type ProviderEvent =
  | { type: "delta"; content: string }
  | { type: "tool_calls"; calls: ToolCall[] }
  | { type: "finish"; finishReason: FinishReason; usage?: Usage; model?: string };

export interface ProviderCallOptions {
  signal: AbortSignal;
}

/**
 * A model behind one streaming call. Implementations throw only
 * `ChatError` (codes `rate_limited`, `upstream_timeout`, `upstream_error`,
 * `cancelled`), and aborting `signal` stops the underlying request.
 */
export interface Provider {
  /** Model id reported to clients (`done.model`, `/v1/models`). */
  readonly model: string;
  /** True for the built-in demo provider, so callers can say so. */
  readonly offline: boolean;
  complete(request: ProviderRequest, options: ProviderCallOptions): AsyncIterable<ProviderEvent>;
}

/** A provider answer collected into one value (non-streaming callers). */
export interface CollectedCompletion {
  content: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  usage?: Usage;
  model?: string;
}

/** Drains one `complete()` stream into a single answer. */
export async function collectCompletion(
  provider: Provider,
  request: ProviderRequest,
  options: ProviderCallOptions,
): Promise<CollectedCompletion> {
  let content = "";
  const toolCalls: ToolCall[] = [];
  let finish: Extract<ProviderEvent, { type: "finish" }> | undefined;
  for await (const event of provider.complete(request, options)) {
    if (event.type === "delta") content += event.content;
    else if (event.type === "tool_calls") toolCalls.push(...event.calls);
    else finish = event;
  }
  return {
    content,
    toolCalls,
    finishReason: finish?.finishReason ?? "stop",
    usage: finish?.usage,
    model: finish?.model,
  };
}

/** Adds two usages; either may be unknown. */
export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
}
