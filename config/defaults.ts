/**
 * The seed's defaults (stage-1 `config/websocket_config.py`) and the other
 * built-in values. Environment variables override them; see
 * `docs/CONFIGURATION.md`.
 */
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
  dataDir: "./data",
  mcpConfigPath: "config/mcp.json",
  personalitiesDir: "personalities",
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
} as const;
