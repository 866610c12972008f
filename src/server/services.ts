/**
 * The long-lived services behind both front doors (WebSocket and REST):
 * memory store, built-in tools, MCP servers and the chat engine. Built once
 * at start-up, closed in reverse order at shutdown.
 */
import type { Settings } from "../../config/settings.ts";
import { spawn } from "../actors/spawn.ts";
import type { ChatEngine } from "../engine/chat_engine.ts";
import { createBuiltinTools, createEngine } from "../engine/mod.ts";
import type { Logger } from "../logger.ts";
import { SqliteMemoryStore } from "../memory/sqlite_store.ts";
import type { MemoryStore } from "../memory/store.ts";
import { loadMcpConfig } from "../tools/mcp_config.ts";
import { McpManager } from "../tools/mcp_manager.ts";
import type { ToolRegistry } from "../tools/registry.ts";

export interface Services {
  engine: ChatEngine;
  memory: MemoryStore;
  builtins: ToolRegistry;
  mcp: McpManager;
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
  const memory = new SqliteMemoryStore({ dataDir: settings.dataDir });
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
    return {
      engine,
      memory,
      builtins,
      mcp,
      async close() {
        await mcp.close();
        memory.close();
      },
    };
  } catch (err) {
    memory.close();
    throw err;
  }
}
