/**
 * The registry of built-in tools, seen by the engine as one
 * {@linkcode ToolSource} (MCP tools come from another source).
 */
import type { CallOptions, Tool, ToolSource, ToolSpec } from "./tool.ts";

export class ToolRegistry implements ToolSource {
  readonly #tools = new Map<string, Tool>();

  constructor(tools: Tool[] = []) {
    for (const tool of tools) this.register(tool);
  }

  /** @throws {Error} when a tool with the same name is already registered */
  register(tool: Tool): void {
    if (this.#tools.has(tool.name)) {
      throw new Error(`Tool "${tool.name}" is already registered`);
    }
    this.#tools.set(tool.name, tool);
  }

  has(name: string): boolean {
    return this.#tools.has(name);
  }

  /** Specs only (no `call`), in registration order. */
  list(): ToolSpec[] {
    return [...this.#tools.values()].map(({ name, description, parameters }) => ({
      name,
      description,
      parameters,
    }));
  }

  /** @throws {RangeError} when `name` is not registered */
  call(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    const tool = this.#tools.get(name);
    if (!tool) return Promise.reject(new RangeError(`Unknown tool "${name}"`));
    if (options.signal.aborted) return Promise.reject(options.signal.reason);
    return tool.call(args, options);
  }
}
