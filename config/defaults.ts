/**
 * The seed's defaults (stage-1 `config/websocket_config.py`) and the other
 * built-in values. Environment variables override them; see
 * `docs/CONFIGURATION.md`.
 */
import { fileURLToPath } from "node:url";

/**
 * A file shipped with the program, found from this module rather than the
 * working directory: `deno task start` from elsewhere, `deno run
 * /path/main.ts` and the compiled binary (`--include`) all find it.
 */
function shipped(path: string): string {
  return fileURLToPath(new URL(path, import.meta.url));
}

export const DEFAULTS = {
  serverHost: "127.0.0.1",
  serverPort: 9800,
  /** Stage-1 `MAX_CONNECTIONS`. */
  maxConnections: 100,
  /** Stage-1 `HEARTBEAT_INTERVAL`, seconds. */
  heartbeatIntervalSeconds: 30,
  /** Stage-1 `CONNECTION_TIMEOUT`, seconds. */
  connectionTimeoutSeconds: 300,
  /** Stage-1 `MESSAGE_SIZE_LIMIT`: 1 MiB. */
  maxMessageBytes: 1024 * 1024,
  /** Largest outbound WebSocket event (a `stream_end` carries the whole reply). */
  maxOutboundBytes: 16 * 1024 * 1024,
  /** Sockets that still owe their `auth` frame, outside WS_MAX_CONNECTIONS. */
  maxPendingAuth: 16,
  /** Concurrent connections from one client address. */
  maxConnectionsPerIp: 32,
  /** Bytes a client may leave unread before it is closed as a slow consumer. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Inbound messages queued per connection before new ones are refused. */
  mailboxCapacity: 64,
  /** Inbound messages per second per connection (token bucket, burst = 2 s worth). */
  messagesPerSecond: 100,
  /** Concurrent `text_message` streams per connection. */
  maxStreamsPerConnection: 4,
  /** Seconds a client has to send its `auth` frame when a key is required. */
  authTimeoutSeconds: 5,
  /** Seconds running streams get to finish on shutdown. */
  shutdownGraceSeconds: 10,
  /** Largest REST request body accepted. */
  maxRequestBytes: 4 * 1024 * 1024,
  /** Seconds between `: keep-alive` comments of an otherwise silent SSE response. */
  sseKeepAliveSeconds: 15,
  /** Seconds a running reply with no subscriber lives on before it is cancelled. */
  streamDetachedLimitSeconds: 120,
  /** Seconds a finished reply stays resumable. */
  streamResumeWindowSeconds: 120,
  /** Event-log bytes kept per reply (oldest events trimmed beyond). */
  streamResumeMaxBytes: 4 * 1024 * 1024,
  /** Event-log bytes kept per node (oldest finished logs evicted first). */
  streamResumeTotalBytes: 64 * 1024 * 1024,
  /** Sockets or responses subscribed to one reply at once. */
  streamMaxSubscribers: 8,
  /** Seconds a cluster node's lease lasts without a heartbeat (heartbeats every quarter of it). */
  nodeTtlSeconds: 10,
  /** Relative to the working directory (data belongs to whoever runs the server). */
  dataDir: "./data",
  /** The shipped `config/mcp.json` (an explicit `YYCHAT_MCP_CONFIG` is read from the working directory). */
  mcpConfigPath: shipped("./mcp.json"),
  /** The shipped `personalities/` (an explicit `YYCHAT_PERSONALITIES_DIR` is read from the working directory). */
  personalitiesDir: shipped("../personalities"),
  defaultPersonality: "assistant",
  openaiModel: "gpt-4o-mini",
  providerTimeoutSeconds: 60,
  providerMaxRetries: 2,
  maxMessageHistoryCount: 20,
  contextTokenBudget: 6000,
  maxToolRounds: 5,
  toolTimeoutSeconds: 20,
  defaultTimezone: "UTC",
  logLevel: "info",
  /** Largest audio accepted for transcription: OpenAI's upload limit, 25 MiB. */
  sttMaxAudioBytes: 25 * 1024 * 1024,
  /** Seconds a transcription may take as a whole. */
  sttTimeoutSeconds: 120,
  /** Model asked of an OpenAI-compatible transcription server. */
  sttModel: "whisper-1",
  /** Longest `input` of `POST /v1/audio/speech`, in characters (OpenAI's limit). */
  ttsMaxTextLength: 4096,
  /** Seconds a speech engine may take before its first bytes, and between bytes. */
  ttsTimeoutSeconds: 30,
  /** Model asked of an OpenAI-compatible speech server. */
  ttsModel: "tts-1",
  /** Voice asked of an OpenAI-compatible speech server when none is named. */
  ttsVoice: "alloy",
  /** Serve `/metrics` without the API key even when keys are configured. */
  metricsPublic: false,
  /** Seconds a PostgreSQL connection attempt may take (memory calls reject after it). */
  databaseConnectTimeoutSeconds: 5,
  /** PostgreSQL connections per process. */
  databasePoolSize: 10,
} as const;
