/**
 * zod schemas of every REST request body and query, validated once at the
 * edge; routes receive typed values only. A chat completion keeps the
 * fields yychat does not read: they are passed to the provider unchanged.
 */
import { z } from "zod";
import { ConversationId } from "../../core/ids.ts";
import { generationParamsShape } from "../../protocol/generation_params.ts";
import { TOOL_NAME_PATTERN } from "../../tools/mcp_tool_names.ts";

/**
 * A content part, kept as the client sent it. Text (and refusal) parts must
 * carry their text; image, audio, file and any other parts pass upstream
 * unchanged (the provider decides what it accepts).
 */
const ContentPart = z.looseObject({ type: z.string().min(1).max(64) }).superRefine((part, ctx) => {
  if ((part.type === "text" || part.type === "refusal") && typeof part[part.type] !== "string") {
    ctx.addIssue({
      code: "custom",
      path: [part.type],
      message: `a "${part.type}" part needs a string "${part.type}"`,
    });
  }
});
export type ContentPartIn = z.infer<typeof ContentPart>;

/** A message's content: a string, or an array of parts (at most 1,000). */
const Content = z.union([z.string(), z.array(ContentPart).max(1000)]);

const ToolCallIn = z.looseObject({
  id: z.string().min(1),
  type: z.literal("function").optional(),
  function: z.looseObject({ name: z.string().min(1), arguments: z.string() }),
});

// Messages keep unknown fields: they travel upstream unchanged (see toEngineMessages).
const SystemMessage = z.looseObject({
  role: z.enum(["system", "developer"]),
  content: Content,
  name: z.string().optional(),
});
const UserMessage = z.looseObject({
  role: z.literal("user"),
  content: Content,
  name: z.string().optional(),
});
const AssistantMessage = z.looseObject({
  role: z.literal("assistant"),
  content: Content.nullish(),
  tool_calls: z.array(ToolCallIn).nullish(),
  name: z.string().optional(),
});
const ToolMessage = z.looseObject({
  role: z.literal("tool"),
  content: Content,
  tool_call_id: z.string().min(1),
});

/** One message of the Chat Completions `messages` list (OpenAI's shapes). */
export const ChatMessageIn = z.discriminatedUnion("role", [
  SystemMessage,
  UserMessage,
  AssistantMessage,
  ToolMessage,
]);
export type ChatMessageIn = z.infer<typeof ChatMessageIn>;

/**
 * A client tool: a function the client runs itself. Kept as sent (its
 * `description`, `parameters`, `strict` go upstream unchanged); the name must
 * be one OpenAI accepts.
 */
const ClientToolIn = z.looseObject({
  type: z.literal("function", { message: 'only "function" tools are supported' }),
  function: z.looseObject({
    name: z.string().regex(TOOL_NAME_PATTERN, `must match ${TOOL_NAME_PATTERN.source}`),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

/**
 * `POST /v1/chat/completions` body: OpenAI's fields plus yychat's extras.
 * The generation parameters are the shared schema of both doors
 * (`src/protocol/generation_params.ts`); the fields yychat reads itself are
 * checked here; every other field is kept and passed upstream unchanged
 * (`docs/REST.md`, "Fidelity").
 */
export const ChatCompletionRequest = z.looseObject({
  ...generationParamsShape,
  messages: z.array(ChatMessageIn).min(1, "must contain at least one message"),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().nullish() }).nullish(),
  n: z.int().nullish().refine((n) => n == null || n === 1, "only n=1 is supported"),
  tools: z.array(ClientToolIn).max(128).nullish(),
  tool_choice: z.union([
    z.enum(["none", "auto", "required"]),
    z.looseObject({ type: z.string(), function: z.object({ name: z.string() }).optional() }),
  ]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.int().min(0).max(20).nullish(),
  conversation_id: ConversationId.nullish().meta({
    description: "yychat: remember the conversation under this id (memory of the caller's key)",
  }),
  personality_id: z.string().trim().min(1).max(256).nullish().meta({
    description: "yychat: a personality of GET /v1/personalities (default: the server's)",
  }),
  use_tools: z.boolean().nullish().meta({
    description: "yychat: let the model call the server's tools (default: USE_TOOLS_DEFAULT)",
  }),
  /**
   * Keep generating when the client hangs up (the turn is stored, and the
   * stream can be continued with `GET /v1/chat/completions/{id}/stream`).
   */
  background: z.boolean().nullish().meta({
    description:
      "yychat: keep generating after a hang-up; continue with GET /v1/chat/completions/{id}/stream",
  }),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequest>;

/**
 * Body fields yychat owns (never passed upstream as they are): the messages
 * (personality prompt and memory are added), streaming (yychat decides how
 * it reads the provider), `n`, the tool list (merged with yychat's), and
 * yychat's own extras. Everything else is passed on.
 */
export const OWNED_FIELDS: ReadonlySet<string> = new Set([
  "messages",
  "stream",
  "stream_options",
  "n",
  "tools",
  "conversation_id",
  "personality_id",
  "use_tools",
  "background",
]);

/** `GET /v1/chat/completions/{id}/stream`: where to continue, and the resume token. */
export const ResumeQuery = z.object({
  /** `?starting_after=N` or `Last-Event-ID: N`: the last event the client saw. */
  starting_after: z.string().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return 0;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      ctx.addIssue({ code: "custom", message: `must be a non-negative integer (got "${raw}")` });
      return z.NEVER;
    }
    return n;
  }),
  token: z.string({ message: "the x-yychat-resume-token header is required" }).min(1).max(256),
});

/** `POST /v1/tools/call` and `POST /v1/mcp/call` body. */
export const ToolCallRequest = z.object({
  tool_name: z.string().min(1),
  params: z.record(z.string(), z.unknown()).nullish(),
});
export type ToolCallRequest = z.infer<typeof ToolCallRequest>;

/** `?limit=` of `GET /v1/conversations/{id}/memory`: 1 to 1000, default 100. */
export const MemoryQuery = z.object({
  limit: z.string().optional().transform((raw, ctx) => {
    if (raw === undefined || raw === "") return 100;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      ctx.addIssue({ code: "custom", message: `must be an integer from 1 to 1000 (got "${raw}")` });
      return z.NEVER;
    }
    return n;
  }),
});
