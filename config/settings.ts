/**
 * Settings: every environment variable yychat reads, validated once at
 * start-up. A bad value stops start-up with a message naming the variable and
 * the allowed range.
 */
import { z } from "zod";
import { LOG_LEVELS, type LogLevel } from "../src/core/logger.ts";
import { AddressSet } from "../src/security/address_set.ts";
import { DEFAULTS } from "./defaults.ts";

/** Raised when the environment holds a value the server cannot run with. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

function int(min: number, max: number, fallback: number) {
  return z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be an integer from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
}

/** Seconds in the environment (fractions allowed), milliseconds in the settings. */
function secondsAsMs(min: number, max: number, fallback: number) {
  return z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return Math.round(fallback * 1000);
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      ctx.addIssue({
        code: "custom",
        message: `must be a number of seconds from ${min} to ${max}`,
      });
      return z.NEVER;
    }
    return Math.round(n * 1000);
  });
}

function optionalNum(min: number, max: number) {
  return z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return undefined;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be a number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });
}

function bool(fallback: boolean) {
  return z.string().trim().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return fallback;
    const v = raw.toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    ctx.addIssue({ code: "custom", message: "must be true or false" });
    return z.NEVER;
  });
}

function str(fallback: string) {
  return z.string().trim().optional().transform((raw) => raw || fallback);
}

const optionalStr = z.string().trim().optional().transform((raw) => raw || undefined);

const list = z.string().optional().transform((raw) =>
  (raw ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0)
);

/** `STT_BASE_URL`/`TTS_BASE_URL`: an http(s) URL, or `offline` for the embedded engines. */
const speechUrl = optionalStr.pipe(
  z.union([
    z.undefined(),
    z.literal("offline"),
    z.url({ message: 'must be an http(s) URL or "offline"' }),
  ]),
);

const EnvSchema = z.object({
  SERVER_HOST: str(DEFAULTS.serverHost),
  SERVER_PORT: int(0, 65535, DEFAULTS.serverPort),
  YYCHAT_ALLOW_PUBLIC_WITHOUT_KEY: bool(false),
  YYCHAT_API_KEY: list,
  YYCHAT_ALLOWED_ORIGINS: list,
  YYCHAT_ALLOWED_HOSTS: list,
  YYCHAT_TRUSTED_PROXIES: list.refine((entries) => {
    try {
      return new AddressSet(entries).size === entries.length;
    } catch {
      return false;
    }
  }, "must be comma-separated IP addresses or CIDRs (e.g. 10.0.0.0/8, ::1)"),
  WS_MAX_CONNECTIONS: int(1, 1_000_000, DEFAULTS.maxConnections),
  WS_HEARTBEAT_INTERVAL: secondsAsMs(0.01, 3600, DEFAULTS.heartbeatIntervalSeconds),
  WS_CONNECTION_TIMEOUT: secondsAsMs(0.01, 86_400, DEFAULTS.connectionTimeoutSeconds),
  WS_MESSAGE_SIZE_LIMIT: int(1024, 64 * 1024 * 1024, DEFAULTS.maxMessageBytes),
  WS_MAX_OUTBOUND_BYTES: int(64 * 1024, 256 * 1024 * 1024, DEFAULTS.maxOutboundBytes),
  WS_MAX_PENDING_AUTH: int(0, 100_000, DEFAULTS.maxPendingAuth),
  WS_MAX_CONNECTIONS_PER_IP: int(1, 1_000_000, DEFAULTS.maxConnectionsPerIp),
  WS_MAX_BUFFERED_BYTES: int(1024, 1024 * 1024 * 1024, DEFAULTS.maxBufferedBytes),
  WS_MAILBOX_CAPACITY: int(1, 100_000, DEFAULTS.mailboxCapacity),
  WS_MESSAGES_PER_SECOND: int(0, 1_000_000, DEFAULTS.messagesPerSecond),
  WS_MAX_STREAMS_PER_CONNECTION: int(1, 1000, DEFAULTS.maxStreamsPerConnection),
  WS_AUTH_TIMEOUT: secondsAsMs(0.01, 300, DEFAULTS.authTimeoutSeconds),
  SHUTDOWN_GRACE_PERIOD: secondsAsMs(0, 600, DEFAULTS.shutdownGraceSeconds),
  HTTP_MAX_REQUEST_BYTES: int(1024, 256 * 1024 * 1024, DEFAULTS.maxRequestBytes),
  SSE_KEEPALIVE_INTERVAL: secondsAsMs(0.01, 3600, DEFAULTS.sseKeepAliveSeconds),
  STREAM_DETACHED_LIMIT: secondsAsMs(0.01, 86_400, DEFAULTS.streamDetachedLimitSeconds),
  STREAM_RESUME_WINDOW: secondsAsMs(0, 86_400, DEFAULTS.streamResumeWindowSeconds),
  STREAM_RESUME_MAX_BYTES: int(1024, 1024 * 1024 * 1024, DEFAULTS.streamResumeMaxBytes),
  STREAM_RESUME_TOTAL_BYTES: int(1024, 64 * 1024 * 1024 * 1024, DEFAULTS.streamResumeTotalBytes),
  STREAM_MAX_SUBSCRIBERS: int(1, 1000, DEFAULTS.streamMaxSubscribers),
  YYCHAT_NODE_ID: z.string().trim().optional()
    .transform((raw) => raw || `node-${crypto.randomUUID().slice(0, 8)}`)
    .pipe(z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1 to 64 of A-Z a-z 0-9 . _ -")),
  YYCHAT_DATA_DIR: str(DEFAULTS.dataDir),
  YYCHAT_MCP_CONFIG: str(DEFAULTS.mcpConfigPath),
  YYCHAT_PERSONALITIES_DIR: str(DEFAULTS.personalitiesDir),
  DEFAULT_PERSONALITY: str(DEFAULTS.defaultPersonality),
  USE_TOOLS_DEFAULT: bool(true),
  STREAM_DEFAULT: bool(true),
  OPENAI_API_KEY: optionalStr,
  OPENAI_BASE_URL: optionalStr.pipe(
    z.union([z.undefined(), z.url({ message: "must be an http(s) URL" })]),
  ),
  OPENAI_MODEL: str(DEFAULTS.openaiModel),
  OPENAI_TEMPERATURE: optionalNum(0, 2),
  PROVIDER_TIMEOUT: secondsAsMs(0.1, 3600, DEFAULTS.providerTimeoutSeconds),
  PROVIDER_MAX_RETRIES: int(0, 10, DEFAULTS.providerMaxRetries),
  MAX_MESSAGE_HISTORY_COUNT: int(0, 10_000, DEFAULTS.maxMessageHistoryCount),
  CONTEXT_TOKEN_BUDGET: int(256, 2_000_000, DEFAULTS.contextTokenBudget),
  TOOL_MAX_ROUNDS: int(1, 50, DEFAULTS.maxToolRounds),
  TOOL_TIMEOUT: secondsAsMs(0.01, 600, DEFAULTS.toolTimeoutSeconds),
  DEFAULT_TIMEZONE: str(DEFAULTS.defaultTimezone).refine(isTimezone, "must be an IANA time zone"),
  TAVILY_API_KEY: optionalStr,
  TAVILY_BASE_URL: str("https://api.tavily.com"),
  STT_BASE_URL: speechUrl,
  STT_API_KEY: optionalStr,
  STT_MODEL: optionalStr,
  STT_MAX_AUDIO_BYTES: int(1024, 1024 * 1024 * 1024, DEFAULTS.sttMaxAudioBytes),
  STT_TIMEOUT: secondsAsMs(1, 3600, DEFAULTS.sttTimeoutSeconds),
  TTS_BASE_URL: speechUrl,
  TTS_API_KEY: optionalStr,
  TTS_MODEL: optionalStr,
  TTS_VOICE: optionalStr,
  TTS_MAX_TEXT_LENGTH: int(1, 1_000_000, DEFAULTS.ttsMaxTextLength),
  TTS_TIMEOUT: secondsAsMs(1, 3600, DEFAULTS.ttsTimeoutSeconds),
  YYCHAT_REDIS_URL: optionalStr.pipe(
    z.union([
      z.undefined(),
      z.string().regex(/^(rediss?:\/\/|unix:\/\/\/|\/)/i, {
        message: "must be a redis:// or rediss:// URL, or a unix socket (unix:///path or /path)",
      }),
    ]),
  ),
  YYCHAT_NODE_TTL: secondsAsMs(0.2, 600, DEFAULTS.nodeTtlSeconds),
  YYCHAT_DATABASE_URL: optionalStr.pipe(
    z.union([
      z.undefined(),
      z.string().regex(/^postgres(ql)?:\/\//i, {
        message: "must be a postgres:// or postgresql:// URL",
      }),
    ]),
  ),
  YYCHAT_DATABASE_CONNECT_TIMEOUT: secondsAsMs(
    0.1,
    300,
    DEFAULTS.databaseConnectTimeoutSeconds,
  ),
  YYCHAT_DATABASE_POOL_SIZE: int(1, 1000, DEFAULTS.databasePoolSize),
  LOG_LEVEL: z.string().trim().toLowerCase().optional()
    .transform((raw) => raw || DEFAULTS.logLevel)
    .pipe(z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` })),
  METRICS_PUBLIC: bool(DEFAULTS.metricsPublic),
});

/** Every environment variable yychat reads (documented in docs/CONFIGURATION.md). */
export const ENV_VARS: readonly string[] = Object.keys(EnvSchema.shape);

/** A value as shown in an error: a URL's password (`//user:secret@`) is masked. */
function withoutPassword(value: string | null): string | null {
  return value?.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^@/]*@/i, "$1***@") ?? null;
}

function isTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Everything the server reads from its environment, typed and with units. */
export interface Settings {
  host: string;
  port: number;
  /** Allow a non-loopback bind without `YYCHAT_API_KEY` (off: refuse to start). */
  allowPublicWithoutKey: boolean;
  /** Accepted API keys; empty means no authentication (loopback only). */
  apiKeys: string[];
  /** Cross-origin `Origin` values allowed (besides the server's own); `*` allows any. */
  allowedOrigins: string[];
  /** `Host` values allowed besides the loopback names; `*` allows any. */
  allowedHosts: string[];
  /** Proxy addresses or CIDRs whose `X-Forwarded-For`/`Forwarded` name the client. */
  trustedProxies: string[];
  ws: {
    maxConnections: number;
    heartbeatIntervalMs: number;
    connectionTimeoutMs: number;
    /** Largest inbound frame. */
    maxMessageBytes: number;
    /** Largest outbound event (a separate limit: replies are delivered whole). */
    maxOutboundBytes: number;
    /** Sockets still owing their `auth` frame (they hold no connection slot). */
    maxPendingAuth: number;
    maxConnectionsPerIp: number;
    maxBufferedBytes: number;
    mailboxCapacity: number;
    /** 0 disables the per-connection rate limit. */
    messagesPerSecond: number;
    maxStreamsPerConnection: number;
    authTimeoutMs: number;
  };
  shutdownGraceMs: number;
  maxRequestBytes: number;
  /** Period of `: keep-alive` comments on an SSE response that is otherwise silent. */
  sseKeepAliveMs: number;
  /** Resumable generations (SPEC §9). */
  streams: {
    /** A running generation nobody listens to is cancelled after this. */
    detachedLimitMs: number;
    /** How long a finished generation stays resumable. */
    resumeWindowMs: number;
    maxBytesPerGeneration: number;
    maxTotalBytes: number;
    maxSubscribers: number;
  };
  /** This node's name in logs and status (cluster mode). */
  nodeId: string;
  /** Cluster mode on Redis; without `redisUrl`, one node on its own. */
  cluster: {
    redisUrl: string | undefined;
    /** A node that stops renewing its lease this long is dead (its slots and replies go). */
    nodeTtlMs: number;
  };
  dataDir: string;
  mcpConfigPath: string;
  personalitiesDir: string;
  defaultPersonality: string;
  useToolsDefault: boolean;
  streamDefault: boolean;
  provider: {
    /** Absent with no base URL: the built-in offline provider is used. */
    apiKey: string | undefined;
    baseUrl: string | undefined;
    model: string;
    /** Undefined: no temperature is sent unless a request gives one. */
    temperature: number | undefined;
    timeoutMs: number;
    maxRetries: number;
  };
  maxMessageHistoryCount: number;
  contextTokenBudget: number;
  maxToolRounds: number;
  toolTimeoutMs: number;
  defaultTimezone: string;
  tavily: { apiKey: string | undefined; baseUrl: string };
  logLevel: LogLevel;
  /** Speech to text (`/v1/audio/transcriptions`, WebSocket `audio_input`). */
  stt: SpeechEngineSettings & {
    timeoutMs: number;
    maxAudioBytes: number;
  };
  /** Text to speech (`/v1/audio/speech`, spoken replies). */
  tts: SpeechEngineSettings & {
    /** `TTS_VOICE`; undefined: the engine's default (`en-us` offline, `alloy` upstream). */
    voice: string | undefined;
    timeoutMs: number;
    maxTextLength: number;
  };
  /** `/metrics` without the API key even when keys are configured. */
  metricsPublic: boolean;
  /** Conversation memory in PostgreSQL (cluster mode); without `url`, SQLite under `dataDir`. */
  database: { url: string | undefined; connectTimeoutMs: number; poolSize: number };
}

/**
 * Which speech engine serves a direction: the embedded offline one when no
 * endpoint is configured (neither its own variables nor `OPENAI_*`) or when
 * its base URL is `offline`; an OpenAI-compatible server otherwise — never
 * silently the other.
 */
export type SpeechEngineSettings =
  | { engine: "offline"; model: string }
  | { engine: "openai"; baseUrl: string; apiKey: string | undefined; model: string };

/**
 * Parses the environment into {@linkcode Settings}.
 *
 * @throws {ConfigError} naming every bad variable and its allowed range
 */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return `  ${name} ${issue.message} (got ${
        JSON.stringify(withoutPassword(env[name] ?? null))
      })`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  return {
    host: e.SERVER_HOST,
    port: e.SERVER_PORT,
    allowPublicWithoutKey: e.YYCHAT_ALLOW_PUBLIC_WITHOUT_KEY,
    apiKeys: e.YYCHAT_API_KEY,
    allowedOrigins: e.YYCHAT_ALLOWED_ORIGINS,
    allowedHosts: e.YYCHAT_ALLOWED_HOSTS,
    trustedProxies: e.YYCHAT_TRUSTED_PROXIES,
    ws: {
      maxConnections: e.WS_MAX_CONNECTIONS,
      heartbeatIntervalMs: e.WS_HEARTBEAT_INTERVAL,
      connectionTimeoutMs: e.WS_CONNECTION_TIMEOUT,
      maxMessageBytes: e.WS_MESSAGE_SIZE_LIMIT,
      maxOutboundBytes: e.WS_MAX_OUTBOUND_BYTES,
      maxPendingAuth: e.WS_MAX_PENDING_AUTH,
      maxConnectionsPerIp: e.WS_MAX_CONNECTIONS_PER_IP,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      mailboxCapacity: e.WS_MAILBOX_CAPACITY,
      messagesPerSecond: e.WS_MESSAGES_PER_SECOND,
      maxStreamsPerConnection: e.WS_MAX_STREAMS_PER_CONNECTION,
      authTimeoutMs: e.WS_AUTH_TIMEOUT,
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_PERIOD,
    maxRequestBytes: e.HTTP_MAX_REQUEST_BYTES,
    sseKeepAliveMs: e.SSE_KEEPALIVE_INTERVAL,
    streams: {
      detachedLimitMs: e.STREAM_DETACHED_LIMIT,
      resumeWindowMs: e.STREAM_RESUME_WINDOW,
      maxBytesPerGeneration: e.STREAM_RESUME_MAX_BYTES,
      maxTotalBytes: e.STREAM_RESUME_TOTAL_BYTES,
      maxSubscribers: e.STREAM_MAX_SUBSCRIBERS,
    },
    nodeId: e.YYCHAT_NODE_ID,
    cluster: { redisUrl: e.YYCHAT_REDIS_URL, nodeTtlMs: e.YYCHAT_NODE_TTL },
    dataDir: e.YYCHAT_DATA_DIR,
    mcpConfigPath: e.YYCHAT_MCP_CONFIG,
    personalitiesDir: e.YYCHAT_PERSONALITIES_DIR,
    defaultPersonality: e.DEFAULT_PERSONALITY,
    useToolsDefault: e.USE_TOOLS_DEFAULT,
    streamDefault: e.STREAM_DEFAULT,
    provider: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      model: e.OPENAI_MODEL,
      temperature: e.OPENAI_TEMPERATURE,
      timeoutMs: e.PROVIDER_TIMEOUT,
      maxRetries: e.PROVIDER_MAX_RETRIES,
    },
    maxMessageHistoryCount: e.MAX_MESSAGE_HISTORY_COUNT,
    contextTokenBudget: e.CONTEXT_TOKEN_BUDGET,
    maxToolRounds: e.TOOL_MAX_ROUNDS,
    toolTimeoutMs: e.TOOL_TIMEOUT,
    defaultTimezone: e.DEFAULT_TIMEZONE,
    tavily: { apiKey: e.TAVILY_API_KEY, baseUrl: e.TAVILY_BASE_URL },
    logLevel: e.LOG_LEVEL,
    stt: {
      ...speechEngine(e.STT_BASE_URL, e.STT_API_KEY, e, e.STT_MODEL ?? DEFAULTS.sttModel),
      timeoutMs: e.STT_TIMEOUT,
      maxAudioBytes: e.STT_MAX_AUDIO_BYTES,
    },
    tts: {
      ...speechEngine(e.TTS_BASE_URL, e.TTS_API_KEY, e, e.TTS_MODEL ?? DEFAULTS.ttsModel),
      voice: e.TTS_VOICE,
      timeoutMs: e.TTS_TIMEOUT,
      maxTextLength: e.TTS_MAX_TEXT_LENGTH,
    },
    metricsPublic: e.METRICS_PUBLIC,
    database: {
      url: e.YYCHAT_DATABASE_URL,
      connectTimeoutMs: e.YYCHAT_DATABASE_CONNECT_TIMEOUT,
      poolSize: e.YYCHAT_DATABASE_POOL_SIZE,
    },
  };
}

/** See {@linkcode SpeechEngineSettings}: the direction's own variables, then `OPENAI_*`. */
function speechEngine(
  ownUrl: string | undefined,
  ownKey: string | undefined,
  e: { OPENAI_BASE_URL: string | undefined; OPENAI_API_KEY: string | undefined },
  model: string,
): SpeechEngineSettings {
  const baseUrl = ownUrl ?? e.OPENAI_BASE_URL;
  const apiKey = ownKey ?? e.OPENAI_API_KEY;
  if (ownUrl === "offline" || (baseUrl === undefined && apiKey === undefined)) {
    return { engine: "offline", model };
  }
  return { engine: "openai", baseUrl: baseUrl ?? "https://api.openai.com/v1", apiKey, model };
}
