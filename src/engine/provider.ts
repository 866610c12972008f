/**
 * The provider port: how the chat engine talks to a model. One method yields
 * the answer as events whether the provider streamed it or sent it whole
 * (`stream: false`: one `delta` with all the text). Implementations:
 * `openai_provider.ts` (any OpenAI-compatible endpoint, over `fetch`) and
 * `offline_provider.ts` (the built-in demo provider).
 */
import type {
  ChatMessage,
  ClientTool,
  FinishReason,
  GenerationParams,
  Logprobs,
  ToolCall,
  Usage,
} from "../core/chat.ts";
import type { ToolSpec } from "../tools/tool.ts";

/** One model call: the whole prompt, the tools offered, and the generation parameters. */
export interface ProviderRequest {
  messages: ChatMessage[];
  /** yychat's tools offered this round. Absent or empty: none. */
  tools?: ToolSpec[];
  /** The client's own tools, offered as the client sent them (after yychat's). */
  clientTools?: ClientTool[];
  /** Request fields under their OpenAI names, passed on unchanged. */
  params?: GenerationParams;
  /** Ask for a stream (default true); false asks for one JSON answer. */
  stream?: boolean;
}

/**
 * What a provider yields, in order: text deltas, at most one `tool_calls`
 * event (calls fully assembled, arguments as raw JSON text), then exactly one
 * `finish`.
 */
export type ProviderEvent =
  | { type: "delta"; content: string; refusal?: string; logprobs?: Logprobs }
  | { type: "tool_calls"; calls: ToolCall[] }
  | {
    type: "finish";
    finishReason: FinishReason;
    usage?: Usage;
    model?: string;
    systemFingerprint?: string;
    serviceTier?: string;
  };

export interface ProviderCallOptions {
  signal: AbortSignal;
}

/**
 * A model behind one call. Implementations throw only `ChatError` (codes
 * `rate_limited`, `upstream_invalid_request`, `upstream_auth_error`,
 * `upstream_timeout`, `upstream_error`, `cancelled`), and aborting `signal`
 * stops the underlying request.
 */
export interface Provider {
  /** Model id reported to clients (`done.model`, `/v1/models`). */
  readonly model: string;
  /** True for the built-in demo provider, so callers can say so. */
  readonly offline: boolean;
  complete(request: ProviderRequest, options: ProviderCallOptions): AsyncIterable<ProviderEvent>;
}

/** Adds two usages (their detail objects field by field); either may be unknown. */
export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  const sum: Usage = {
    prompt_tokens: a.prompt_tokens + b.prompt_tokens,
    completion_tokens: a.completion_tokens + b.completion_tokens,
    total_tokens: a.total_tokens + b.total_tokens,
  };
  const prompt = addDetails(a.prompt_tokens_details, b.prompt_tokens_details);
  const completion = addDetails(a.completion_tokens_details, b.completion_tokens_details);
  if (prompt) sum.prompt_tokens_details = prompt;
  if (completion) sum.completion_tokens_details = completion;
  return sum;
}

function addDetails(
  a: Record<string, unknown> | undefined,
  b: Record<string, unknown> | undefined,
): Record<string, unknown> | undefined {
  if (!a) return b;
  if (!b) return a;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = typeof prev === "number" && typeof v === "number" ? prev + v : v;
  }
  return out;
}
