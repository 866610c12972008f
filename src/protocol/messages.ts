/**
 * Every WebSocket message as a zod schema, with its inferred type under the
 * same name. Inbound messages are validated once, in the connection actor;
 * outbound events are built by handlers from these types (not re-validated on
 * the hot path) and described by `GET /ws/schema`.
 */
import { z } from "zod";
import { FINISH_REASONS } from "../core/chat.ts";
import type { ErrorCode, ErrorType } from "../core/errors.ts";
import { ConversationId, RequestId } from "../core/ids.ts";
import { generationParamsShape } from "./generation_params.ts";

const requestId = RequestId;

/** Fields any client message may carry. Unknown extra fields are ignored. */
const inboundBase = {
  /** Client clock, float seconds since the epoch (informational). */
  timestamp: z.number().optional(),
  /** Ignored: the server assigns `client_id`. */
  client_id: z.string().nullish(),
  /** Echoed on every event answering this message. */
  request_id: requestId.optional(),
};

export const Heartbeat = z.object({ type: z.literal("heartbeat"), ...inboundBase });
export type Heartbeat = z.infer<typeof Heartbeat>;

export const Ping = z.object({ type: z.literal("ping"), ...inboundBase });
export type Ping = z.infer<typeof Ping>;

export const GetStatus = z.object({ type: z.literal("get_status"), ...inboundBase });
export type GetStatus = z.infer<typeof GetStatus>;

export const TextMessage = z.object({
  type: z.literal("text_message"),
  ...inboundBase,
  content: z.string().refine((s) => s.trim().length > 0, "must be a non-empty string"),
  conversation_id: ConversationId.nullish(),
  personality_id: z.string().min(1).max(256).nullish(),
  use_tools: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  /** Opt in to `tool_call` / `tool_result` events. */
  tool_events: z.boolean().optional(),
  /**
   * What a disconnect does to the reply: `continue` (default) keeps it
   * running, resumable, and stored when complete; `cancel` stops it once no
   * socket listens.
   */
  on_disconnect: z.enum(["continue", "cancel"]).optional(),
  /**
   * Speak the reply too: `true` (the personality's or the server's voice, WAV)
   * or `{voice, format, speed}` → `audio_stream` per sentence, then
   * `synthesis_complete`.
   */
  voice: z.union([
    z.boolean(),
    z.object({
      voice: z.string().min(1).max(100).optional(),
      format: z.enum(["wav", "mp3", "pcm"]).optional(),
      speed: z.number().min(0.25).max(4).optional(),
    }),
  ]).optional(),
  /**
   * Generation parameters, the same as the REST chat completion's and
   * validated by the same schema: `model`, `temperature`, `top_p`,
   * `max_tokens`, `max_completion_tokens`, `stop`, `seed`, `response_format`.
   */
  ...generationParamsShape,
});
export type TextMessage = z.infer<typeof TextMessage>;

/** The fields of `text_message` that `audio_input` also takes (the reply to the transcript). */
const replyFields = TextMessage.omit({ type: true, content: true }).shape;

/**
 * Spoken input: transcribed (`audio_processing_start`, then
 * `transcription_result`); with `respond: true` the transcript then runs as
 * a `text_message` (same `request_id`). The original service's aliases
 * `audio`, `audio_b64` and `data` are read as `audio_base64`.
 */
export const AudioInput = z.object({
  ...replyFields,
  type: z.literal("audio_input"),
  /** The audio, base64 (a `data:…;base64,` prefix is allowed). */
  audio_base64: z.string().min(1).optional(),
  /** The original service's names for `audio_base64`. */
  audio: z.string().min(1).optional(),
  audio_b64: z.string().min(1).optional(),
  data: z.string().min(1).optional(),
  format: z.enum(["wav", "pcm16"]).default("wav"),
  /** `pcm16` only (default 16,000); a WAV's header says its own. */
  sample_rate: z.int().min(8000).max(48_000).optional(),
  /** The spoken language, e.g. `en` (the offline engine knows US English only). */
  language: z.string().min(2).max(16).optional(),
  /**
   * A hint for the recogniser, as `prompt` of `/v1/audio/transcriptions`
   * (the offline engine takes a JSGF grammar: see docs/VOICE.md).
   */
  prompt: z.string().max(16_384).optional(),
  /** Run the transcript as a `text_message` and answer it (default false: transcribe only). */
  respond: z.boolean().optional(),
}).refine(
  (m) => (m.audio_base64 ?? m.audio ?? m.audio_b64 ?? m.data) !== undefined,
  { message: "is required (base64 audio)", path: ["audio_base64"] },
);
export type AudioInput = z.infer<typeof AudioInput>;

export const Cancel = z.object({
  type: z.literal("cancel"),
  ...inboundBase,
  request_id: requestId,
});
export type Cancel = z.infer<typeof Cancel>;

/** Re-attach to a reply after a reconnect: replay what was missed, then live events. */
export const Resume = z.object({
  type: z.literal("resume"),
  ...inboundBase,
  request_id: requestId,
  /** From the reply's `processing_start`. */
  resume_token: z.string().min(1).max(256),
  /** The last `seq` the client saw of this reply (0 for none). */
  last_seq: z.int().min(0).default(0),
});
export type Resume = z.infer<typeof Resume>;

export const Auth = z.object({
  type: z.literal("auth"),
  ...inboundBase,
  token: z.string().min(1).max(4096),
});
export type Auth = z.infer<typeof Auth>;

/** Every client → server message. */
export const InboundMessage = z.discriminatedUnion("type", [
  Heartbeat,
  Ping,
  GetStatus,
  TextMessage,
  AudioInput,
  Cancel,
  Resume,
  Auth,
]);
export type InboundMessage = z.infer<typeof InboundMessage>;
export type InboundType = InboundMessage["type"];

/** Schema of each inbound type, for validation after the `type` pre-check. */
export const INBOUND_SCHEMAS: {
  [K in InboundType]: z.ZodType<Extract<InboundMessage, { type: K }>>;
} = {
  heartbeat: Heartbeat,
  ping: Ping,
  get_status: GetStatus,
  text_message: TextMessage,
  audio_input: AudioInput,
  cancel: Cancel,
  resume: Resume,
  auth: Auth,
};

// ---------------------------------------------------------------- outbound

const outboundBase = {
  /** Server clock, float seconds since the epoch. */
  timestamp: z.number(),
  client_id: z.string(),
  request_id: z.string().optional(),
};

const streamBase = { ...outboundBase, request_id: z.string(), seq: z.number().int().min(1) };

export const ConnectionEstablished = z.object({
  type: z.literal("connection_established"),
  ...outboundBase,
  message: z.string(),
  /** Whether an `auth` frame is expected before anything else. */
  auth_required: z.boolean().optional(),
});

export const HeartbeatResponse = z.object({
  type: z.literal("heartbeat_response"),
  ...outboundBase,
});
export const Pong = z.object({ type: z.literal("pong"), ...outboundBase });

export const StatusData = z.object({
  /** Connections registered now (authenticated or still owing their `auth` frame). */
  total_connections: z.number().int(),
  /** Those of them that are authenticated and open. */
  active_connections: z.number().int(),
  /** Inbound frames received since start. */
  total_messages: z.number().int(),
  max_connections: z.number().int(),
  /** Server uptime, seconds. */
  uptime: z.number(),
  /** Connections accepted since start (cumulative). */
  accepted_connections: z.number().int(),
  /** Cluster mode: live nodes (the figures above are then summed over them). */
  nodes: z.number().int().optional(),
  /** Cluster mode: this node's own figures. */
  node: z.object({
    id: z.string(),
    total_connections: z.number().int(),
    active_connections: z.number().int(),
    total_messages: z.number().int(),
    max_connections: z.number().int(),
    uptime: z.number(),
  }).optional(),
});
export type StatusData = z.infer<typeof StatusData>;

export const StatusResponse = z.object({
  type: z.literal("status_response"),
  ...outboundBase,
  data: StatusData,
});

export const AuthOk = z.object({ type: z.literal("auth_ok"), ...outboundBase });

export const ProcessingStart = z.object({
  type: z.literal("processing_start"),
  ...outboundBase,
  request_id: z.string(),
  seq: z.number().int().optional(),
  /**
   * Opaque, 256 random bits: with `request_id` it resumes this reply after a
   * reconnect (only for the same API key). Absent on a replayed copy.
   */
  resume_token: z.string().optional(),
});
export const StreamStart = z.object({ type: z.literal("stream_start"), ...streamBase });
export const StreamChunk = z.object({
  type: z.literal("stream_chunk"),
  ...streamBase,
  content: z.string(),
});
export const FinishReason = z.enum(FINISH_REASONS);
export type FinishReason = z.infer<typeof FinishReason>;
export const StreamEnd = z.object({
  type: z.literal("stream_end"),
  ...streamBase,
  full_content: z.string(),
  finish_reason: FinishReason,
  conversation_id: z.string().optional(),
});
export const TextResponse = z.object({
  type: z.literal("text_response"),
  ...outboundBase,
  request_id: z.string(),
  content: z.string(),
  conversation_id: z.string().nullable(),
  finish_reason: FinishReason.optional(),
  seq: z.number().int().optional(),
});
export const ToolCallEvent = z.object({
  type: z.literal("tool_call"),
  ...streamBase,
  name: z.string(),
  arguments: z.unknown(),
});
export const ToolResultEvent = z.object({
  type: z.literal("tool_result"),
  ...streamBase,
  name: z.string(),
  ok: z.boolean(),
});
export const ResumeOk = z.object({
  type: z.literal("resume_ok"),
  ...outboundBase,
  request_id: z.string(),
  /** False when the log no longer held `last_seq + 1`: a `stream_snapshot` follows. */
  recovered: z.boolean(),
  status: z.enum(["running", "done"]),
  /** The reply's highest `seq` when the replay began. */
  top_seq: z.number().int(),
});
export const StreamSnapshot = z.object({
  type: z.literal("stream_snapshot"),
  ...outboundBase,
  request_id: z.string(),
  /** The text below is everything through this `seq`; events after it follow. */
  seq: z.number().int(),
  /** The reply's text so far: replaces what the client had. */
  content: z.string(),
});
export const AudioProcessingStart = z.object({
  type: z.literal("audio_processing_start"),
  ...streamBase,
  /** As on `processing_start`: resumes this reply after a reconnect. */
  resume_token: z.string().optional(),
});
export const TranscriptionResult = z.object({
  type: z.literal("transcription_result"),
  ...streamBase,
  text: z.string(),
  language: z.string().optional(),
});
export const AudioStream = z.object({
  type: z.literal("audio_stream"),
  ...streamBase,
  /** 1, 2, 3 … in speaking order. */
  segment: z.number().int().min(1),
  /** The sentence spoken (markdown removed). */
  text: z.string(),
  format: z.string(),
  sample_rate: z.number().int(),
  /** One complete file of `format` (raw samples for `pcm`), base64. */
  audio: z.string(),
});
export const SynthesisComplete = z.object({
  type: z.literal("synthesis_complete"),
  ...streamBase,
  /** `audio_stream` events sent. */
  segments: z.number().int(),
  /** When speech failed or stopped early (the text reply is unaffected). */
  error: z.object({ message: z.string(), type: z.string(), code: z.string() }).optional(),
});
export const ServerShutdown = z.object({
  type: z.literal("server_shutdown"),
  ...outboundBase,
  message: z.string(),
  grace_seconds: z.number(),
});
export const ErrorEvent = z.object({
  type: z.literal("error"),
  ...outboundBase,
  seq: z.number().int().optional(),
  error: z.object({ message: z.string(), type: z.string(), code: z.string() }),
});

/** Every server → client event. */
export const OutboundEvent = z.discriminatedUnion("type", [
  ConnectionEstablished,
  HeartbeatResponse,
  Pong,
  StatusResponse,
  AuthOk,
  ProcessingStart,
  StreamStart,
  StreamChunk,
  StreamEnd,
  TextResponse,
  ToolCallEvent,
  ToolResultEvent,
  ResumeOk,
  StreamSnapshot,
  AudioProcessingStart,
  TranscriptionResult,
  AudioStream,
  SynthesisComplete,
  ServerShutdown,
  ErrorEvent,
]);
export type OutboundEvent = z.infer<typeof OutboundEvent>;

/**
 * An outbound event before the connection stamps it: the connection adds
 * `timestamp` and `client_id` (and nothing else) when it sends.
 */
export type OutboundBody = OutboundEvent extends infer E
  ? E extends OutboundEvent ? Omit<E, "timestamp" | "client_id"> : never
  : never;

/** The `error` field of an error event. */
export interface ErrorBody {
  message: string;
  type: ErrorType;
  code: ErrorCode;
}
