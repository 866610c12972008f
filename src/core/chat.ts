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

/** One message of a conversation, OpenAI Chat Completions shape (text only). */
export interface ChatMessage {
  role: ChatRole;
  content: string | null;
  /** Assistant messages that call tools. */
  tool_calls?: ToolCall[];
  /** Tool results: the call they answer. */
  tool_call_id?: string;
  /** Tool results: the tool's name. */
  name?: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** Per-request sampling overrides (REST body fields). */
export interface SamplingOverrides {
  model?: string;
  temperature?: number;
  maxTokens?: number;
  /**
   * Which field carries `maxTokens` upstream: OpenAI's reasoning models take
   * only `max_completion_tokens`, older compatible servers only `max_tokens`,
   * so the client's own choice is kept (default `max_tokens`).
   */
  maxTokensField?: "max_tokens" | "max_completion_tokens";
  topP?: number;
  stop?: string[];
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
  overrides?: SamplingOverrides;
}

/** What `ChatEngine.run` yields, in order: deltas and tool events, then one `done`. */
export type EngineEvent =
  | { type: "delta"; content: string }
  | { type: "tool_call"; id: string; name: string; arguments: unknown }
  | { type: "tool_result"; id: string; name: string; ok: boolean }
  | { type: "done"; finishReason: FinishReason; content: string; model: string; usage?: Usage };

/** What the WebSocket and REST layers need of the engine (a fake in tests). */
export interface ChatRunner {
  /**
   * Runs one request. Yields deltas and tool events, then one `done`.
   * Aborting `signal` stops the provider request and running tool calls and
   * makes the iterator throw `ChatError("cancelled")`.
   */
  run(request: EngineRequest, options: { signal: AbortSignal }): AsyncIterable<EngineEvent>;
}
