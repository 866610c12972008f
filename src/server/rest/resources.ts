/**
 * The REST resources around the chat: models, personalities, conversation
 * memory (namespaced by the caller's key), built-in tools and MCP tools.
 * Lists use OpenAI's `{"object":"list","data":[…]}` envelope.
 */
import { raceAbort } from "../../core/race_abort.ts";
import { errorMessage } from "../../core/spawn.ts";
import { type MemoryStore, memoryUnavailable } from "../../memory/store.ts";
import type { Personality } from "../../engine/personalities.ts";
import type { ToolSource, ToolSpec } from "../../tools/tool.ts";
import { json } from "../responses.ts";
import { HttpError } from "./errors.ts";
import { readJsonBody, validate } from "./request_body.ts";
import { followClient, type RouteContext } from "./route.ts";
import { ConversationId } from "../../core/ids.ts";
import { MemoryQuery, ToolCallRequest } from "./schemas.ts";

/** Epoch seconds reported as `created` of the configured model (this process's start). */
const STARTED_AT = Math.floor(Date.now() / 1000);

function modelObject(id: string) {
  return { id, object: "model", created: STARTED_AT, owned_by: "yychat" };
}

/** `GET /v1/models`: the one model this server answers with. */
export function listModels(ctx: RouteContext): Promise<Response> {
  return Promise.resolve(
    json({ object: "list", data: [modelObject(ctx.deps.services.engine.model)] }),
  );
}

/** `GET /v1/models/{id}` */
export function getModel(ctx: RouteContext): Promise<Response> {
  const id = ctx.params.id!;
  const model = ctx.deps.services.engine.model;
  if (id !== model) {
    throw new HttpError(404, `The model "${id}" does not exist: this server serves "${model}"`, {
      code: "model_not_found",
      param: "model",
    });
  }
  return Promise.resolve(json(modelObject(model)));
}

function personalityObject(p: Personality, defaultId: string) {
  return {
    id: p.id,
    object: "personality",
    name: p.name,
    system_prompt: p.system_prompt,
    traits: p.traits,
    examples: p.examples,
    allowed_tools: p.allowed_tools,
    default: p.id === defaultId,
  };
}

/** `GET /v1/personalities` */
export function listPersonalities(ctx: RouteContext): Promise<Response> {
  const ps = ctx.deps.services.engine.personalities;
  return Promise.resolve(json({
    object: "list",
    default: ps.default.id,
    data: ps.list().map((p) => personalityObject(p, ps.default.id)),
  }));
}

/** `GET /v1/personalities/{id}` */
export function getPersonality(ctx: RouteContext): Promise<Response> {
  const ps = ctx.deps.services.engine.personalities;
  const id = ctx.params.id!;
  if (!ps.has(id)) {
    throw new HttpError(404, `Unknown personality "${id}"`, { code: "personality_not_found" });
  }
  return Promise.resolve(json(personalityObject(ps.get(id), ps.default.id)));
}

/** `GET /v1/conversations/{id}/memory?limit=N`: the last N messages, oldest first. */
export async function getMemory(ctx: RouteContext): Promise<Response> {
  const id = conversationId(ctx);
  const { limit } = validate(MemoryQuery, {
    limit: ctx.url.searchParams.get("limit") ?? undefined,
  });
  const entries = await memoryCall(ctx, "list", (m) => m.list(ctx.namespace, id, limit));
  return json({ object: "list", conversation_id: id, data: entries });
}

/**
 * `DELETE /v1/conversations/{id}/memory`: idempotent; reports how many
 * messages went, and `deleted: false` when the conversation held nothing.
 */
export async function deleteMemory(ctx: RouteContext): Promise<Response> {
  const id = conversationId(ctx);
  const removed = await memoryCall(ctx, "clear", (m) => m.clear(ctx.namespace, id));
  return json({ conversation_id: id, deleted: removed > 0, deleted_messages: removed });
}

/** A memory store call whose failure (database down) answers 503 `memory_unavailable`. */
async function memoryCall<T>(
  ctx: RouteContext,
  operation: string,
  fn: (memory: MemoryStore) => Promise<T>,
): Promise<T> {
  try {
    return await fn(ctx.deps.services.memory);
  } catch (err) {
    throw memoryUnavailable(ctx.deps.logger, operation, err);
  }
}

function conversationId(ctx: RouteContext): string {
  const parsed = ConversationId.safeParse(ctx.params.id);
  if (!parsed.success) {
    throw new HttpError(400, `Invalid conversation id: ${parsed.error.issues[0]!.message}`, {
      param: "conversation_id",
      code: "invalid_request",
    });
  }
  return parsed.data;
}

function toolList(specs: ToolSpec[]) {
  return {
    object: "list",
    data: specs.map((t) => ({
      name: t.name,
      description: t.description,
      parameters: t.parameters,
    })),
  };
}

/** `GET /v1/tools`: built-in tools with their JSON Schemas. */
export function listTools(ctx: RouteContext): Promise<Response> {
  return Promise.resolve(json(toolList(ctx.deps.services.builtins.list())));
}

/**
 * `GET /v1/mcp/tools`: tools of the connected MCP servers. `name` is what the
 * model is offered (and what `POST /v1/mcp/call` takes); `server` and
 * `mcp_name` say which server's tool it is, under that server's own name.
 */
export function listMcpTools(ctx: RouteContext): Promise<Response> {
  const tools = ctx.deps.services.mcp.list();
  const list = toolList(tools);
  return Promise.resolve(json({
    ...list,
    data: list.data.map((t, i) => ({
      ...t,
      server: tools[i]!.server,
      mcp_name: tools[i]!.mcpName,
    })),
  }));
}

/** `GET /v1/mcp/servers`: each configured MCP server's state (no URLs, headers or env). */
export function listMcpServers(ctx: RouteContext): Promise<Response> {
  return Promise.resolve(json({
    object: "list",
    data: ctx.deps.services.mcp.servers().map((s) => ({
      name: s.name,
      transport: s.transport,
      state: s.state,
      tool_count: s.toolCount,
      failures: s.failures,
      ...(s.lastError !== undefined ? { last_error: s.lastError } : {}),
    })),
  }));
}

/** `POST /v1/tools/call` */
export function callTool(ctx: RouteContext): Promise<Response> {
  return callFrom(ctx, ctx.deps.services.builtins, "tool");
}

/** `POST /v1/mcp/call` */
export function callMcpTool(ctx: RouteContext): Promise<Response> {
  return callFrom(ctx, ctx.deps.services.mcp, "MCP tool");
}

/**
 * Runs one tool call bounded by the tool timeout and the client's
 * connection. Unknown tool → 404, timeout → 504, any other failure → 400
 * with the tool's own message (the request reached the tool; its input or
 * its work failed).
 */
async function callFrom(ctx: RouteContext, source: ToolSource, kind: string): Promise<Response> {
  const { tool_name: name, params } = await readJsonBody(
    ctx.req,
    ToolCallRequest,
    ctx.deps.settings.maxRequestBytes,
  );
  if (!source.list().some((t) => t.name === name)) {
    throw new HttpError(404, `Unknown ${kind} "${name}"`, {
      param: "tool_name",
      code: "tool_not_found",
    });
  }
  const timeoutMs = ctx.deps.settings.toolTimeoutMs;
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), timeoutMs);
  const client = new AbortController();
  const unfollow = followClient(ctx.req, client);
  const signal = AbortSignal.any([timeout.signal, client.signal]);
  try {
    const result = await raceAbort(source.call(name, params ?? {}, { signal }), signal);
    return json({ status: "success", tool_name: name, result: result ?? null });
  } catch (err) {
    if (timeout.signal.aborted) {
      throw new HttpError(504, `Tool "${name}" timed out after ${timeoutMs} ms`, {
        code: "tool_timeout",
      });
    }
    if (err instanceof RangeError && !source.list().some((t) => t.name === name)) {
      throw new HttpError(404, `Unknown ${kind} "${name}"`, {
        param: "tool_name",
        code: "tool_not_found",
      });
    }
    throw new HttpError(
      400,
      `Tool "${name}" failed: ${errorMessage(err)}`,
      { code: "tool_error" },
    );
  } finally {
    unfollow();
    clearTimeout(timer);
  }
}
