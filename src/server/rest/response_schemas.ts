/**
 * zod schemas of what the REST routes answer, for the OpenAPI document
 * (`GET /openapi.json`). The routes build their answers by hand; the OpenAPI
 * test sends real requests and parses every answer with these schemas
 * (strictly: an undocumented field fails), so they stay honest.
 */
import { z } from "zod";

/** OpenAI's error shape, every status of every route. */
export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    message: z.string(),
    type: z.string().meta({ description: "OpenAI-style category: invalid_request_error, …" }),
    param: z.string().nullable().meta({ description: "The field the error is about" }),
    code: z.string().nullable().meta({ description: "Stable code (docs/REST.md)" }),
  }),
});

const OpenAIFinishReason = z.enum(["stop", "length", "tool_calls", "content_filter"]);

export const Usage = z.strictObject({
  prompt_tokens: z.int().nonnegative(),
  completion_tokens: z.int().nonnegative(),
  total_tokens: z.int().nonnegative(),
});

export const ChatCompletion = z.strictObject({
  id: z.string().meta({ description: "`chatcmpl-…`, unique per response" }),
  object: z.literal("chat.completion"),
  created: z.int().meta({ description: "Epoch seconds" }),
  model: z.string(),
  choices: z.array(z.strictObject({
    index: z.literal(0),
    message: z.strictObject({
      role: z.literal("assistant"),
      content: z.string().nullable(),
      refusal: z.null(),
    }),
    logprobs: z.null(),
    finish_reason: OpenAIFinishReason,
  })).length(1),
  usage: Usage.optional().meta({ description: "When the provider reports it" }),
  system_fingerprint: z.null(),
});

/** One `data:` payload of a streamed completion (before the final `data: [DONE]`). */
export const ChatCompletionChunk = z.strictObject({
  id: z.string(),
  object: z.literal("chat.completion.chunk"),
  created: z.int(),
  model: z.string(),
  system_fingerprint: z.null(),
  choices: z.array(z.strictObject({
    index: z.literal(0),
    delta: z.strictObject({
      role: z.literal("assistant").optional(),
      content: z.string().optional(),
      refusal: z.null().optional(),
    }),
    logprobs: z.null(),
    finish_reason: OpenAIFinishReason.nullable(),
  })).max(1).meta({ description: "Empty in the final usage chunk" }),
  usage: Usage.nullable().optional().meta({
    description: "With stream_options.include_usage: null on every chunk but the last",
  }),
});

export const Model = z.strictObject({
  id: z.string(),
  object: z.literal("model"),
  created: z.int(),
  owned_by: z.string(),
});

export const ModelList = z.strictObject({ object: z.literal("list"), data: z.array(Model) });

export const Personality = z.strictObject({
  id: z.string(),
  object: z.literal("personality"),
  name: z.string(),
  system_prompt: z.string(),
  traits: z.array(z.string()),
  examples: z.array(z.strictObject({ user: z.string().optional(), assistant: z.string() })),
  allowed_tools: z.array(
    z.strictObject({ tool_name: z.string(), description: z.string().optional() }),
  ).meta({ description: "Empty: every tool is allowed" }),
  default: z.boolean(),
});

export const PersonalityList = z.strictObject({
  object: z.literal("list"),
  default: z.string().meta({ description: "Id of the default personality" }),
  data: z.array(Personality),
});

const ToolCallOut = z.strictObject({ id: z.string(), name: z.string(), arguments: z.string() });

export const MemoryEntry = z.strictObject({
  id: z.int(),
  turn_id: z.string().meta({ description: "Messages stored by one reply share it" }),
  created_at: z.number().meta({ description: "Epoch seconds (fractional)" }),
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().nullable(),
  tool_calls: z.array(ToolCallOut).optional(),
  tool_call_id: z.string().optional(),
  name: z.string().optional(),
});

export const MemoryList = z.strictObject({
  object: z.literal("list"),
  conversation_id: z.string(),
  data: z.array(MemoryEntry).meta({ description: "Oldest first" }),
});

export const MemoryDeleted = z.strictObject({
  conversation_id: z.string(),
  deleted: z.boolean().meta({ description: "false when the conversation held nothing" }),
  deleted_messages: z.int().nonnegative(),
});

export const ToolList = z.strictObject({
  object: z.literal("list"),
  data: z.array(z.strictObject({
    name: z.string(),
    description: z.string(),
    parameters: z.record(z.string(), z.unknown()).meta({ description: "JSON Schema" }),
  })),
});

export const ToolCallResult = z.strictObject({
  status: z.literal("success"),
  tool_name: z.string(),
  result: z.unknown().meta({ description: "The tool's result (JSON)" }),
});

export const McpServerList = z.strictObject({
  object: z.literal("list"),
  data: z.array(z.strictObject({
    name: z.string(),
    transport: z.enum(["stdio", "http", "sse", "auto"]),
    state: z.enum(["connecting", "connected", "failed", "closed"]),
    tool_count: z.int().nonnegative(),
    failures: z.int().nonnegative(),
    last_error: z.string().optional(),
  })),
});

/** `GET /health` (public). */
export const Health = z.looseObject({
  status: z.enum(["ok", "draining"]),
  uptime: z.number().meta({ description: "Seconds since start" }),
}).meta({ description: "More readiness facts (provider kind, MCP counts) may follow" });
