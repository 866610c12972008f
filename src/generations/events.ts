/**
 * The events of a generation, protocol-neutral: each door maps them to its
 * own wire format (WebSocket frames, Chat Completions chunks). Every event
 * carries `seq` (1, 2, 3, … per generation) given once, when it is logged,
 * so every subscriber and every replay sees the same numbers.
 */
import type { FinishReason, Logprobs, ToolCall, Usage } from "../core/chat.ts";
import type { ErrorCode } from "../core/errors.ts";

export type GenerationEvent =
  /** Spoken input arrived and is being transcribed (WS `audio_processing_start`). */
  | { seq: number; type: "audio_processing_start" }
  /** What the spoken input said (WS `transcription_result`). */
  | { seq: number; type: "transcription"; text: string; language?: string }
  /** The request was accepted (WS `processing_start`). */
  | { seq: number; type: "processing_start" }
  /** A streamed reply begins (WS `stream_start`). Streaming generations only. */
  | { seq: number; type: "stream_start" }
  /**
   * Text of the reply (one or more model deltas, coalesced and cut to size),
   * with refusal text and token log probabilities when the model sent them
   * (coalescing concatenates them too). Streaming only.
   */
  | { seq: number; type: "chunk"; content: string; refusal?: string; logprobs?: Logprobs }
  /** The model called a tool (only when the request asked for tool events). */
  | { seq: number; type: "tool_call"; id: string; name: string; arguments: unknown }
  | { seq: number; type: "tool_result"; id: string; name: string; ok: boolean }
  /** The reply is complete (or was cancelled): the whole text, and why it ended. */
  | {
    seq: number;
    type: "end";
    finishReason: FinishReason;
    content: string;
    model: string;
    usage?: Usage;
    conversationId?: string;
    /** Calls to the client's own tools (`finishReason: "tool_calls"`). */
    toolCalls?: ToolCall[];
    refusal?: string;
    /** The whole reply's log probabilities (requests with `logprobs`). */
    logprobs?: Logprobs;
    systemFingerprint?: string;
    serviceTier?: string;
  }
  /**
   * The reply failed; nothing of it was stored. An upstream refusal keeps the
   * provider's HTTP status, `Retry-After`, `param` and error code.
   */
  | {
    seq: number;
    type: "error";
    code: ErrorCode;
    message: string;
    status?: number;
    retryAfterSeconds?: number;
    param?: string;
    upstreamCode?: string;
  }
  /** One spoken sentence of the reply, in order (WS `audio_stream`); `audio` is base64. */
  | {
    seq: number;
    type: "audio";
    segment: number;
    text: string;
    format: string;
    sampleRate: number;
    audio: string;
  }
  /** Speech is over: always after the last `audio` (WS `synthesis_complete`). */
  | {
    seq: number;
    type: "synthesis_complete";
    segments: number;
    error?: { code: ErrorCode; message: string };
  };

/** An event before the generation numbers it. */
export type EventBody = GenerationEvent extends infer E
  ? E extends GenerationEvent ? Omit<E, "seq"> : never
  : never;

/** Rough bytes an event holds in a log (text dominates; JSON only for the rare big ones). */
export function eventBytes(event: GenerationEvent): number {
  switch (event.type) {
    case "chunk":
      return 48 + event.content.length * 2 +
        (event.refusal === undefined && event.logprobs === undefined
          ? 0
          : JSON.stringify([event.refusal, event.logprobs]).length * 2);
    case "end":
      return 128 + event.content.length * 2 +
        (event.toolCalls === undefined && event.logprobs === undefined
          ? 0
          : JSON.stringify([event.toolCalls, event.logprobs, event.refusal]).length * 2);
    case "processing_start":
    case "stream_start":
    case "audio_processing_start":
      return 32;
    case "audio":
      return 64 + event.audio.length + event.text.length * 2;
    default:
      return 64 + JSON.stringify(event).length * 2;
  }
}
