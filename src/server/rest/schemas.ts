/**
 * zod schemas of every REST request body and query, validated once at the
 * edge; routes receive typed values only. Unknown fields are dropped, as
 * OpenAI-compatible clients send many optional ones yychat has no use for.
 */
import { z } from "zod";
import { ConversationId } from "../../core/ids.ts";

/**
 * A content part. Only text reaches the engine; images, audio and files are
 * refused with a message naming the part type rather than silently dropped.
 */
const ContentPart = z.looseObject({ type: z.string() }).superRefine((part, ctx) => {
  if (part.type === "text" || part.type === "refusal") {
    const key = part.type;
    if (typeof part[key] !== "string") {
      ctx.addIssue({ code: "custom", path: [key], message: `must be a string` });
    }
    return;
  }
  ctx.addIssue({
    code: "custom",
    path: ["type"],
    message: `content part type "${part.type}" is not supported: only text parts are accepted`,
  });
});

/** String or text parts, joined into one string (parts separated by nothing, as OpenAI does). */
const TextContent = z.union([z.string(), z.array(ContentPart)]).transform((c) =>
  typeof c === "string"
    ? c
    : c.map((p) => String((p as Record<string, unknown>).text ?? p.refusal ?? "")).join("")
);

const ToolCallIn = z.object({
  id: z.string().min(1),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const SystemMessage = z.object({
  role: z.enum(["system", "developer"]),
  content: TextContent,
  name: z.string().optional(),
});
const UserMessage = z.object({
  role: z.literal("user"),
  content: TextContent,
  name: z.string().optional(),
});
const AssistantMessage = z.object({
  role: z.literal("assistant"),
  content: TextContent.nullish(),
  tool_calls: z.array(ToolCallIn).nullish(),
  refusal: z.string().nullish(),
  name: z.string().optional(),
});
const ToolMessage = z.object({
  role: z.literal("tool"),
  content: TextContent,
  tool_call_id: z.string().min(1),
});

/** One message of the Chat Completions `messages` list (OpenAI's shapes, text content). */
export const ChatMessageIn = z.discriminatedUnion("role", [
  SystemMessage,
  UserMessage,
  AssistantMessage,
  ToolMessage,
]);
export type ChatMessageIn = z.infer<typeof ChatMessageIn>;

const probability = (max: number) => z.number().min(0).max(max).nullish();

/** `POST /v1/chat/completions` body: OpenAI's fields plus yychat's extras. */
export const ChatCompletionRequest = z.object({
  model: z.string().nullish(),
  messages: z.array(ChatMessageIn).min(1, "must contain at least one message"),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: probability(2),
  top_p: probability(1),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  n: z.int().nullish().refine((n) => n == null || n === 1, "only n=1 is supported"),
  tools: z.array(z.unknown()).nullish().refine(
    (t) => !t || t.length === 0,
    "client-defined tools are not supported: yychat runs its own tools (see use_tools)",
  ),
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
