/**
 * Core chat types: messages, requests and the events of a chat run, shared
 * by the engine, memory, the generation layer and both doors. The wire
 * protocol maps to these; nothing here imports anything of the others.
 */

/** Why a reply ended. `cancelled` and `error` are yychat's own, OpenAI has the rest. */
export const FINISH_REASONS = [
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "cancelled",
  "error",
] as const;
export type FinishReason = (typeof FINISH_REASONS)[number];

export type ChatRole = "system" | "user" | "assistant" | "tool";

/** A model-requested tool call; `arguments` is the raw JSON text the model produced. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * A content part as the client sent it: OpenAI's `text`, `image_url`,
 * `input_audio`, `file` (and whatever a provider adds). Passed upstream
 * unchanged; only its text reaches memory.
 */
export interface ContentPart {
  type: string;
  [field: string]: unknown;
}

/** One message of a conversation, OpenAI Chat Completions shape. */
export interface ChatMessage {
  role: ChatRole;
  /**
   * The text. For array content: the text parts joined, with a placeholder
   * for every other part (`[image]`, `[audio]`, `[file]`, `[<type>]`): what
   * memory stores and recall searches.
   */
  content: string | null;
  /** Array content exactly as the client sent it: what goes upstream. Never stored. */
  parts?: ContentPart[];
  /** Assistant messages that call tools. */
  tool_calls?: ToolCall[];
  /** Tool results: the call they answer. */
  tool_call_id?: string;
  /** Tool results: the tool's name. User and assistant messages: the participant's name. */
  name?: string;
  /**
   * Other fields of the client's message (an assistant's `refusal` or
   * `audio`, …), passed upstream unchanged. Never stored.
   */
  extra?: Record<string, unknown>;
}

/**
 * Token counts. The provider's detail objects (`prompt_tokens_details`,
 * `completion_tokens_details`: cached, reasoning, audio tokens …) are kept
 * and summed over the rounds of a reply like the totals.
 */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: Record<string, unknown>;
  completion_tokens_details?: Record<string, unknown>;
}

/**
 * Token log probabilities of a piece of the reply, OpenAI's
 * `choices[].logprobs` (`content` and `refusal` token lists, kept as the
 * provider sent them).
 */
export interface Logprobs {
  content?: unknown[];
  refusal?: unknown[];
}

/** `b`'s token lists after `a`'s (the pieces of one reply, in order). */
export function concatLogprobs(a: Logprobs | undefined, b: Logprobs): Logprobs {
  if (a === undefined) return { ...b };
  const out: Logprobs = {};
  const content = [...(a.content ?? []), ...(b.content ?? [])];
  const refusal = [...(a.refusal ?? []), ...(b.refusal ?? [])];
  if (a.content !== undefined || b.content !== undefined) out.content = content;
  if (a.refusal !== undefined || b.refusal !== undefined) out.refusal = refusal;
  return out;
}

/**
 * A tool the client defines and runs itself: its `tools[]` entry, kept as
 * sent and offered upstream next to yychat's own tools. Calls to it end the
 * reply with `finish_reason: "tool_calls"`; the client's `tool` messages
 * continue the turn.
 */
export interface ClientTool {
  type: "function";
  function: { name: string; [field: string]: unknown };
  [field: string]: unknown;
}

/**
 * Chat Completions request fields for the model, under their OpenAI names.
 * The known ones are typed (both doors validate them with one schema,
 * `src/protocol/generation_params.ts`); any other field a REST client sent
 * (`frequency_penalty`, `logit_bias`, `user`, `metadata`, `store`,
 * `reasoning_effort`, `service_tier`, a provider's own extension …) is
 * passed upstream unchanged.
 */
export interface GenerationParams {
  model?: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  /** Reasoning models take only this one; the client's own choice of field is kept. */
  max_completion_tokens?: number;
  stop?: string | string[];
  seed?: number;
  /** `{type: "text" | "json_object"}` or `{type: "json_schema", json_schema: {...}}`. */
  response_format?: Record<string, unknown>;
  logprobs?: boolean;
  top_logprobs?: number;
  tool_choice?: unknown;
  parallel_tool_calls?: boolean;
  [field: string]: unknown;
}

export interface EngineRequest {
  /**
   * New input. WebSocket: one user message. REST: the client's whole message
   * list (its own system prompt is combined with the personality's).
   */
  messages: ChatMessage[];
  /** Memory key; without it nothing is recalled or stored. */
  conversationId?: string;
  /** Unknown id → ChatError "personality_not_found". Default from settings. */
  personalityId?: string;
  useTools: boolean;
  /** Memory namespace (derived from the API key; "" without auth). */
  namespace: string;
  /** Generation parameters for the model (both doors). */
  params?: GenerationParams;
  /** The client's own tools (REST), offered next to yychat's; see {@linkcode ClientTool}. */
  clientTools?: ClientTool[];
  /**
   * Whether the client reads the reply as a stream (default true). When it
   * does not, the provider may answer in one piece (a cheaper request).
   */
  stream?: boolean;
}

/** What `ChatEngine.run` yields, in order: deltas and tool events, then one `done`. */
export type EngineEvent =
  /**
   * A piece of the reply: text, refusal text, and the pieces' token log
   * probabilities (only when the request asked for `logprobs`).
   */
  | { type: "delta"; content: string; refusal?: string; logprobs?: Logprobs }
  | { type: "tool_call"; id: string; name: string; arguments: unknown }
  | { type: "tool_result"; id: string; name: string; ok: boolean }
  | {
    type: "done";
    finishReason: FinishReason;
    content: string;
    model: string;
    usage?: Usage;
    /**
     * Calls to the client's own tools (`finishReason` is then `tool_calls`):
     * the client runs them and continues the turn with `tool` messages.
     */
    toolCalls?: ToolCall[];
    /** The model's refusal text, when it refused. */
    refusal?: string;
    /** Every token's log probabilities (requests with `logprobs` only). */
    logprobs?: Logprobs;
    systemFingerprint?: string;
    serviceTier?: string;
  };

/** What the WebSocket and REST layers need of the engine (a fake in tests). */
export interface ChatRunner {
  /**
   * Runs one request. Yields deltas and tool events, then one `done`.
   * Aborting `signal` stops the provider request and running tool calls and
   * makes the iterator throw `ChatError("cancelled")`.
   */
  run(request: EngineRequest, options: { signal: AbortSignal }): AsyncIterable<EngineEvent>;
}
