/**
 * The long-lived services behind both front doors (WebSocket and REST):
 * memory store (SQLite, or PostgreSQL with `YYCHAT_DATABASE_URL`), built-in tools, MCP servers and the chat engine. Built once
 * at start-up, closed in reverse order at shutdown.
 */
import type { Settings } from "../../config/settings.ts";
import { DEFAULTS } from "../../config/defaults.ts";
import { spawn } from "../core/spawn.ts";
import { ChatEngine } from "../engine/chat_engine.ts";
import { OfflineProvider } from "../engine/offline_provider.ts";
import { OpenAIProvider } from "../engine/openai_provider.ts";
import { Personalities } from "../engine/personalities.ts";
import type { Provider } from "../engine/provider.ts";
import { createCalculatorTool } from "../tools/calculator.ts";
import { createGetTimeTool } from "../tools/gettime.ts";
import { createTavilyTool } from "../tools/tavily.ts";
import { ToolRegistry } from "../tools/registry.ts";
import type { ToolSource } from "../tools/tool.ts";
import type { Logger } from "../core/logger.ts";
import { SqliteMemoryStore } from "../memory/sqlite_store.ts";
import { isUnreachable, parseDatabaseUrl, PostgresMemoryStore } from "../memory/postgres_store.ts";
import type { MemoryStore } from "../memory/store.ts";
import { loadMcpConfig } from "../tools/mcp_config.ts";
import { McpManager } from "../tools/mcp_manager.ts";
import type { SpeechEngines, SpeechToText, TextToSpeech } from "../core/speech.ts";
import { EspeakTts } from "../voice/espeak_tts.ts";
import { OpenAICompatibleStt } from "../voice/openai_stt.ts";
import { OpenAICompatibleTts } from "../voice/openai_tts.ts";
import { PocketsphinxStt } from "../voice/pocketsphinx_stt.ts";

export interface Services {
  engine: ChatEngine;
  memory: MemoryStore;
  builtins: ToolRegistry;
  mcp: McpManager;
  /** Speech to text and text to speech (offline engines or an OpenAI-compatible server). */
  voice: SpeechEngines;
  /** Closes MCP servers, then the memory store. */
  close(): Promise<void>;
}

export interface ServicesOptions {
  logger: Logger;
  /** Used by the provider and HTTP tools (tests inject one). */
  fetch?: typeof fetch;
}

export async function createServices(
  settings: Settings,
  options: ServicesOptions,
): Promise<Services> {
  const { logger } = options;
  const memory = await createMemoryStore(settings, logger);
  try {
    const builtins = createBuiltinTools(settings, options.fetch);
    const mcp = new McpManager({
      servers: await loadMcpConfig(settings.mcpConfigPath),
      reservedNames: builtins.list().map((t) => t.name),
      logger,
      callTimeoutMs: settings.toolTimeoutMs,
    });
    // Servers connect in the background: the gateway serves at once and MCP
    // tools appear as their servers come up.
    spawn(logger, "mcp_start", mcp.start());
    const engine = await createEngine(settings, {
      logger,
      memory,
      mcp,
      builtins,
      fetch: options.fetch,
    });
    const voice = createSpeechEngines(settings, { logger, fetch: options.fetch });
    return {
      engine,
      memory,
      builtins,
      mcp,
      voice,
      async close() {
        await mcp.close();
        await memory.close();
      },
    };
  } catch (err) {
    await memory.close();
    throw err;
  }
}

/**
 * The memory store the settings ask for: PostgreSQL with
 * `YYCHAT_DATABASE_URL` (schema created or migrated now), else the SQLite
 * file under the data directory. A PostgreSQL that cannot be reached at
 * start-up does not stop the server: requests with a `conversation_id` get
 * `memory_unavailable` until it is back (the schema is checked then). A bad
 * URL, refused credentials or a newer schema do stop it.
 */
export async function createMemoryStore(settings: Settings, logger: Logger): Promise<MemoryStore> {
  const db = settings.database;
  if (db.url === undefined) return new SqliteMemoryStore({ dataDir: settings.dataDir });
  const target = parseDatabaseUrl(db.url);
  const store = new PostgresMemoryStore({
    url: db.url,
    connectTimeoutMs: db.connectTimeoutMs,
    poolSize: db.poolSize,
  });
  const where = { store: "postgres", host: target.host, database: target.database };
  try {
    await store.migrate();
    logger.info("memory_store", where);
  } catch (err) {
    if (!isUnreachable(err)) {
      await store.close();
      throw err;
    }
    logger.warn("memory_unavailable", {
      ...where,
      error: String(err),
      message: "PostgreSQL is unreachable: memory calls fail until it is back",
    });
  }
  return store;
}

export interface CreateEngineOptions {
  logger: Logger;
  memory: MemoryStore;
  /** MCP tools; offered after the built-ins (built-ins win a name clash). */
  mcp?: ToolSource;
  /** Used by the provider and `tavily_search` (tests inject one). */
  fetch?: typeof fetch;
  /** Built-in tools, when the caller also serves them elsewhere (REST); default: created here. */
  builtins?: ToolRegistry;
}

/** The provider the settings ask for. */
export function createProvider(settings: Settings, fetchFn?: typeof fetch): Provider {
  const p = settings.provider;
  if (p.apiKey === undefined && p.baseUrl === undefined) return new OfflineProvider();
  return new OpenAIProvider({
    apiKey: p.apiKey,
    baseUrl: p.baseUrl,
    model: p.model,
    temperature: p.temperature,
    timeoutMs: p.timeoutMs,
    maxRetries: p.maxRetries,
    fetch: fetchFn,
  });
}

/** The built-in tools: calculator, gettime, and tavily_search when its key is set. */
export function createBuiltinTools(settings: Settings, fetchFn?: typeof fetch): ToolRegistry {
  const registry = new ToolRegistry([
    createCalculatorTool(),
    createGetTimeTool({ defaultTimezone: settings.defaultTimezone }),
  ]);
  if (settings.tavily.apiKey) {
    registry.register(createTavilyTool({
      apiKey: settings.tavily.apiKey,
      baseUrl: settings.tavily.baseUrl,
      fetch: fetchFn,
    }));
  }
  return registry;
}

/** Wires provider, personalities, memory and tools into a {@linkcode ChatEngine}. */
export async function createEngine(
  settings: Settings,
  { logger, memory, mcp, fetch: fetchFn, builtins }: CreateEngineOptions,
): Promise<ChatEngine> {
  const provider = createProvider(settings, fetchFn);
  if (provider.offline) {
    logger.warn("provider_offline", {
      model: provider.model,
      message: "No OPENAI_API_KEY or OPENAI_BASE_URL: answering with the offline demo provider",
    });
  } else {
    logger.info("provider_configured", {
      model: provider.model,
      base_url: settings.provider.baseUrl ?? "https://api.openai.com/v1",
    });
  }
  const personalities = await Personalities.load(settings.personalitiesDir, {
    defaultId: settings.defaultPersonality,
    logger,
  });
  const tools = builtins ?? createBuiltinTools(settings, fetchFn);
  return new ChatEngine({
    provider,
    memory,
    personalities,
    toolSources: mcp ? [tools, mcp] : [tools],
    maxToolRounds: settings.maxToolRounds,
    toolTimeoutMs: settings.toolTimeoutMs,
    contextTokenBudget: settings.contextTokenBudget,
    maxMessageHistoryCount: settings.maxMessageHistoryCount,
    logger,
  });
}

/**
 * The speech engines the settings ask for: an OpenAI-compatible server per
 * direction when one is configured (`STT_*`/`TTS_*`, else `OPENAI_*`), the
 * offline engines (pocketsphinx, espeak-ng, sox) otherwise. Whether the
 * offline programs are installed is checked lazily, on first use.
 */
export function createSpeechEngines(
  settings: Settings,
  options: { logger: Logger; fetch?: typeof fetch },
): SpeechEngines {
  const { stt: s, tts: t } = settings;
  const stt: SpeechToText = s.engine === "openai"
    ? new OpenAICompatibleStt({
      baseUrl: s.baseUrl,
      apiKey: s.apiKey,
      model: s.model,
      timeoutMs: s.timeoutMs,
      fetch: options.fetch,
    })
    : new PocketsphinxStt({
      tempDir: `${settings.dataDir.replace(/\/+$/, "")}/voice-tmp`,
      timeoutMs: s.timeoutMs,
    });
  const tts: TextToSpeech = t.engine === "openai"
    ? new OpenAICompatibleTts({
      baseUrl: t.baseUrl,
      apiKey: t.apiKey,
      model: t.model,
      voice: t.voice ?? DEFAULTS.ttsVoice,
      timeoutMs: t.timeoutMs,
      fetch: options.fetch,
    })
    : new EspeakTts({ defaultVoice: t.voice, idleTimeoutMs: t.timeoutMs });
  for (const [direction, engine, cfg] of [["stt", stt, s], ["tts", tts, t]] as const) {
    options.logger.info("speech_engine", {
      direction,
      model: engine.model,
      ...(cfg.engine === "openai"
        ? { engine: "openai-compatible", base_url: cfg.baseUrl }
        : { engine: "offline" }),
    });
  }
  return { stt, tts };
}
