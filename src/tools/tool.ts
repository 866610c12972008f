/**
 * What a tool is, for the engine: a name, a description, a JSON Schema for
 * its arguments, and a call that honours an AbortSignal. Built-in tools and
 * MCP tools both appear to the engine as a `ToolSource`.
 */
export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments object, passed to the model unchanged. */
  parameters: Record<string, unknown>;
}

export interface CallOptions {
  signal: AbortSignal;
}

export interface Tool extends ToolSpec {
  /** Returns a JSON-serialisable result; throws on failure (the engine reports it to the model). */
  call(args: Record<string, unknown>, options: CallOptions): Promise<unknown>;
}

/** A set of tools the engine can offer the model (built-ins, or all MCP servers). */
export interface ToolSource {
  list(): ToolSpec[];
  /** @throws {RangeError} when `name` is not in `list()` */
  call(name: string, args: Record<string, unknown>, options: CallOptions): Promise<unknown>;
}
