/**
 * `POST /v1/chat/completions`: OpenAI's Chat Completions as a thin adapter
 * over the generation layer — one JSON completion, or an SSE stream of
 * chunks ending `data: [DONE]`, each SSE event carrying `id: <seq>`.
 *
 * The response status is decided by the generation's first event past its
 * opening ones: headers are sent only once it produced something, so a
 * failure before any output (unknown personality, provider 429, timeout)
 * gets its real status even on a streaming request. A failure after that is
 * reported as a final `data: {"error": …}` event.
 *
 * A client that hangs up cancels the generation, unless the request said
 * `"background": true`: then the generation runs on, its turn is stored, and
 * `GET /v1/chat/completions/{request_id}/stream` (with the resume token)
 * continues the stream.
 */
import type {
  ChatMessage,
  ClientTool,
  ContentPart,
  EngineRequest,
  GenerationParams,
  Logprobs,
  ToolCall,
} from "../../core/chat.ts";
import { textOfParts } from "../../core/content.ts";
import { ChatError, errorTypeOf } from "../../core/errors.ts";
import { RequestId } from "../../core/ids.ts";
import type { GenerationEvent } from "../../generations/mod.ts";
import { json } from "../responses.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { EventQueue, FinalEvent } from "./event_queue.ts";
import { readJsonBody, validate } from "./request_body.ts";
import type { RouteContext } from "./route.ts";
import { ChatCompletionRequest, type ChatMessageIn, OWNED_FIELDS, ResumeQuery } from "./schemas.ts";
import { type SseEvent, sseResponse } from "./sse.ts";
import type { YychatMetrics } from "../../observability/yychat_metrics.ts";

type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Handles one chat completion request; see the module doc. */
export async function chatCompletions(ctx: RouteContext): Promise<Response> {
  const { settings, services, generations } = ctx.deps;
  const engine = services.engine;
  const body = await readJsonBody(ctx.req, ChatCompletionRequest, settings.maxRequestBytes);
  const stream = body.stream === true;
  const request: EngineRequest = {
    messages: toEngineMessages(body.messages),
    useTools: body.use_tools ?? settings.useToolsDefault,
    namespace: ctx.namespace,
    stream,
  };
  const params = passedFields(body);
  if (params !== undefined) request.params = params;
  if (body.tools != null && body.tools.length > 0) {
    request.clientTools = body.tools as ClientTool[];
  }
  if (body.conversation_id != null) request.conversationId = body.conversation_id;
  if (body.personality_id != null) request.personalityId = body.personality_id;
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  // A stream is read at the client's pace from a bounded queue; a single
  // answer needs only the generation's terminal event.
  const queue = stream ? new EventQueue(settings.ws.maxBufferedBytes) : new FinalEvent();
  const { attachment, resumeToken } = generations.start({
    requestId: id,
    principal: ctx.namespace,
    door: "rest",
    request,
    stream,
    toolEvents: false,
    onDisconnect: body.background === true ? "continue" : "cancel",
    origin: { http_request_id: ctx.requestId },
  }, () => queue);
  const headers = { "x-yychat-request-id": id, "x-yychat-resume-token": resumeToken };

  // Until the response exists, a hang-up shows only on the request's signal.
  const onHangUp = () => {
    attachment.detach("disconnect");
    queue.finished();
  };
  ctx.req.signal.addEventListener("abort", onHangUp, { once: true });
  let first: GenerationEvent | undefined;
  try {
    first = await (queue instanceof EventQueue ? queue.first() : queue.result);
  } finally {
    ctx.req.signal.removeEventListener("abort", onHangUp);
  }
  if (ctx.req.signal.aborted) onHangUp();
  if (first === undefined || first.type === "error") throw failure(first);

  const meta: ChunkMeta = {
    id,
    created: Math.floor(Date.now() / 1000),
    // The offline provider has one model, whatever is asked.
    model: (engine.offline ? undefined : params?.model) ?? engine.model,
    includeUsage: body.stream_options?.include_usage === true,
    stream,
  };
  if (!stream) {
    if (first.type !== "end") throw failure(undefined);
    if (first.finishReason === "cancelled") {
      throw new HttpError(503, "The server is shutting down: the reply was cancelled", {
        code: "server_shutting_down",
      });
    }
    return json(completion(first, meta), 200, headers);
  }
  return streamResponse(ctx, sseEvents(queue as EventQueue, meta, ctx.deps.metrics), {
    onCancel: onHangUp,
    headers,
  });
}

/**
 * `GET /v1/chat/completions/{request_id}/stream`: continues the SSE stream
 * of a generation after event `Last-Event-ID` (or `?starting_after=N`),
 * with its `x-yychat-resume-token`. When the log no longer holds what the
 * client missed, an `event: yychat.snapshot` carries the text so far first.
 */
export async function resumeCompletionStream(ctx: RouteContext): Promise<Response> {
  const { settings, services, generations, metrics } = ctx.deps;
  const requestId = validate(RequestId, ctx.params.id);
  const query = validate(ResumeQuery, {
    starting_after: ctx.url.searchParams.get("starting_after") ??
      ctx.req.headers.get("last-event-id") ?? undefined,
    token: ctx.req.headers.get("x-yychat-resume-token") ?? undefined,
  });
  const queue = new EventQueue(settings.ws.maxBufferedBytes);
  const attachment = await generations.resume({
    principal: ctx.namespace,
    requestId,
    token: query.token,
    afterSeq: query.starting_after,
  }, queue);
  const meta: ChunkMeta = {
    id: requestId,
    created: Math.floor(Date.now() / 1000),
    model: services.engine.model,
    includeUsage: false,
    stream: queue.info?.stream ?? true,
  };
  return streamResponse(ctx, sseEvents(queue, meta, metrics, queue.info?.snapshot), {
    onCancel: () => {
      attachment.detach("leave");
      queue.finished();
    },
    headers: { "x-yychat-request-id": requestId },
  });
}

/** The SSE response of a completion stream; its log line is written when the stream ends. */
function streamResponse(
  ctx: RouteContext,
  events: AsyncGenerator<SseEvent>,
  options: { onCancel(): void; headers: Record<string, string> },
): Response {
  const finish = ctx.deferLog();
  return sseResponse(events, {
    keepAliveMs: ctx.deps.settings.sseKeepAliveMs,
    onCancel: options.onCancel,
    onEnd: (outcome) => finish({ stream: true, outcome }),
    headers: options.headers,
  });
}

/** The HTTP error for a generation that failed before any output (or vanished). */
function failure(event: GenerationEvent | undefined): HttpError {
  if (event?.type === "error") return toHttpError(chatErrorOf(event));
  return new HttpError(499, "The request was cancelled", { code: "cancelled" });
}

interface ChunkMeta {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
  /** Whether the generation streamed its text (else `end` carries all of it). */
  stream: boolean;
}

type EndEvent = Extract<GenerationEvent, { type: "end" }>;

/** A non-streamed `chat.completion`: the reply, the client's tool calls, and what the provider said. */
function completion(end: EndEvent, meta: ChunkMeta) {
  const calls = end.toolCalls;
  const message: Record<string, unknown> = {
    role: "assistant",
    content: calls !== undefined && end.content === "" ? null : end.content,
    refusal: end.refusal ?? null,
  };
  if (calls !== undefined) message.tool_calls = calls.map((c) => wireToolCall(c));
  const out: Record<string, unknown> = {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: end.model || meta.model,
    choices: [{
      index: 0,
      message,
      logprobs: wireLogprobs(end.logprobs),
      finish_reason: openAIFinishReason(end.finishReason),
    }],
  };
  if (end.usage) out.usage = end.usage;
  out.system_fingerprint = end.systemFingerprint ?? null;
  if (end.serviceTier) out.service_tier = end.serviceTier;
  return out;
}

function wireToolCall(call: ToolCall, index?: number) {
  return {
    ...(index === undefined ? {} : { index }),
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: call.arguments },
  };
}

function wireLogprobs(logprobs: Logprobs | undefined) {
  if (logprobs === undefined) return null;
  return { content: logprobs.content ?? null, refusal: logprobs.refusal ?? null };
}

/**
 * The SSE events of one completion: role chunk, deltas (with refusal and
 * log probabilities when the provider sent them), the client's tool calls,
 * the finish chunk, usage, `[DONE]`. A delta chunk's JSON is this
 * completion's fixed head and tail around the delta: only the delta is
 * serialised per chunk.
 */
async function* sseEvents(
  queue: EventQueue,
  meta: ChunkMeta,
  metrics: YychatMetrics | undefined,
  snapshot?: { seq: number; content: string },
): AsyncGenerator<SseEvent> {
  const head = `{"id":${
    JSON.stringify(meta.id)
  },"object":"chat.completion.chunk","created":${meta.created},"model":${
    JSON.stringify(meta.model)
  },"system_fingerprint":null,"choices":[{"index":0,"delta":`;
  // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
  const usageNull = meta.includeUsage ? `,"usage":null` : "";
  const tail = `,"logprobs":null,"finish_reason":null}]${usageNull}}`;
  const chunk = (delta: string, logprobs?: Logprobs) =>
    logprobs === undefined
      ? head + delta + tail
      : `${head}${delta},"logprobs":${
        JSON.stringify(wireLogprobs(logprobs))
      },"finish_reason":null}]${usageNull}}`;
  const base = (end: EndEvent) => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: end.model || meta.model,
    system_fingerprint: end.systemFingerprint ?? null,
    ...(end.serviceTier ? { service_tier: end.serviceTier } : {}),
  });
  if (snapshot) {
    yield {
      id: snapshot.seq,
      event: "yychat.snapshot",
      data: JSON.stringify({ seq: snapshot.seq, content: snapshot.content }),
    };
  }
  for (let e = await queue.next(); e !== undefined; e = await queue.next()) {
    switch (e.type) {
      case "stream_start":
        yield { id: e.seq, data: chunk(`{"role":"assistant","content":"","refusal":null}`) };
        break;
      case "chunk": {
        const delta = e.refusal === undefined
          ? `{"content":${JSON.stringify(e.content)}}`
          : JSON.stringify({ content: e.content, refusal: e.refusal });
        yield { id: e.seq, data: chunk(delta, e.logprobs) };
        break;
      }
      case "end": {
        if (!meta.stream) {
          yield {
            id: e.seq,
            data: chunk(JSON.stringify({ role: "assistant", content: e.content })),
          };
        }
        if (e.toolCalls !== undefined) {
          yield {
            id: e.seq,
            data: chunk(JSON.stringify({ tool_calls: e.toolCalls.map(wireToolCall) })),
          };
        }
        yield {
          id: e.seq,
          data: JSON.stringify({
            ...base(e),
            choices: [{
              index: 0,
              delta: {},
              logprobs: null,
              finish_reason: openAIFinishReason(e.finishReason),
            }],
            ...(meta.includeUsage ? { usage: null } : {}),
          }),
        };
        if (meta.includeUsage) {
          yield {
            id: e.seq,
            data: JSON.stringify({ ...base(e), choices: [], usage: e.usage ?? null }),
          };
        }
        yield { data: "[DONE]" };
        return;
      }
      case "error": {
        // Headers went out already: this event is the error the client sees (counted here).
        metrics?.error(e.code);
        const err = toHttpError(chatErrorOf(e));
        yield {
          id: e.seq,
          data: JSON.stringify({
            error: {
              message: err.message,
              type: errorTypeOf(e.code),
              param: err.options.param ?? null,
              code: e.code,
              ...(e.upstreamCode ? { upstream_code: e.upstreamCode } : {}),
            },
          }),
        };
        return;
      }
      default:
        break; // processing_start, tool events: nothing in Chat Completions
    }
  }
}

/** The error of an `error` event, with what it carries of the provider's answer. */
function chatErrorOf(e: Extract<GenerationEvent, { type: "error" }>): ChatError {
  const { status, retryAfterSeconds, param, upstreamCode } = e;
  return new ChatError(e.code, e.message, { status, retryAfterSeconds, param, upstreamCode });
}

/** OpenAI clients know four finish reasons; anything else reads as `stop`. */
function openAIFinishReason(reason: string): OpenAIFinishReason {
  return reason === "length" || reason === "tool_calls" || reason === "content_filter"
    ? reason
    : "stop";
}

/** The fields of a message the engine reads; any other is passed upstream unchanged. */
const MESSAGE_FIELDS = new Set(["role", "content", "name", "tool_calls", "tool_call_id"]);

/**
 * The client's messages in the engine's shape: array content kept as its
 * parts (what goes upstream) with its text form (what memory stores),
 * `developer` read as `system` (joined into the prompt after the
 * personality's), tool results named after the call they answer, and the
 * message's other fields kept for the provider.
 */
export function toEngineMessages(messages: ChatMessageIn[]): ChatMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((m): ChatMessage => {
    const { content, parts } = contentOf(m.content);
    switch (m.role) {
      case "system":
      case "developer":
        return { role: "system", content };
      case "user":
        return withExtras({ role: "user", content }, m, parts);
      case "assistant": {
        const calls = (m.tool_calls ?? []).map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        }));
        for (const c of calls) toolNames.set(c.id, c.name);
        const message: ChatMessage = {
          role: "assistant",
          content: m.content == null ? (calls.length > 0 ? null : "") : content,
        };
        if (calls.length > 0) message.tool_calls = calls;
        return withExtras(message, m, parts);
      }
      case "tool": {
        const name = toolNames.get(m.tool_call_id);
        const message: ChatMessage = { role: "tool", content, tool_call_id: m.tool_call_id };
        if (name) message.name = name;
        return withExtras(message, m, parts);
      }
    }
  });
}

function contentOf(
  content: string | ContentPart[] | null | undefined,
): { content: string; parts?: ContentPart[] } {
  if (content == null) return { content: "" };
  if (typeof content === "string") return { content };
  return { content: textOfParts(content), parts: content };
}

/** `message` with the client's parts, participant name and other fields. */
function withExtras(
  message: ChatMessage,
  m: Record<string, unknown>,
  parts: ContentPart[] | undefined,
): ChatMessage {
  if (parts) message.parts = parts;
  if (m.role !== "tool" && typeof m.name === "string") message.name = m.name;
  let extra: Record<string, unknown> | undefined;
  for (const key in m) {
    if (MESSAGE_FIELDS.has(key) || m[key] === undefined) continue;
    (extra ??= {})[key] = m[key];
  }
  if (extra) message.extra = extra;
  return message;
}

/**
 * The request fields passed to the provider: every field the client sent
 * except those yychat owns ({@linkcode OWNED_FIELDS}), unchanged; `null`
 * means absent (and so does an empty `model`).
 */
function passedFields(body: ChatCompletionRequest): GenerationParams | undefined {
  let params: GenerationParams | undefined;
  for (const key in body) {
    const value = (body as Record<string, unknown>)[key];
    if (value === null || value === undefined || OWNED_FIELDS.has(key)) continue;
    if (key === "model" && value === "") continue;
    (params ??= {})[key] = value;
  }
  return params;
}
