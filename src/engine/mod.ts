/**
 * Builds the chat engine from settings: the provider (OpenAI-compatible when
 * `OPENAI_API_KEY` or `OPENAI_BASE_URL` is set, else the offline demo
 * provider, never silently otherwise), personalities, and built-in tools.
 */
import type { Settings } from "../../config/settings.ts";
import type { Logger } from "../logger.ts";
import type { MemoryStore } from "../memory/store.ts";
import type { ToolSource } from "../tools/tool.ts";
import { ChatEngine } from "./chat_engine.ts";
import { OfflineProvider } from "./offline_provider.ts";
import { OpenAIProvider } from "./openai_provider.ts";
import { Personalities } from "./personalities.ts";
import type { Provider } from "./provider.ts";
import { ToolRegistry } from "../tools/registry.ts";
import { createCalculatorTool } from "../tools/calculator.ts";
import { createGetTimeTool } from "../tools/gettime.ts";
import { createTavilyTool } from "../tools/tavily.ts";

export { ChatEngine } from "./chat_engine.ts";
export type { ChatEngineOptions, RunOptions } from "./chat_engine.ts";
export { Personalities } from "./personalities.ts";
export type { Personality } from "./personalities.ts";
export { EngineError } from "./types.ts";
export type { Provider, ProviderEvent, ProviderRequest } from "./provider.ts";

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
