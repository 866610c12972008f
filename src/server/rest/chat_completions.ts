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
import type { ChatMessage, EngineRequest, SamplingOverrides } from "../../core/chat.ts";
import { ChatError, errorTypeOf } from "../../core/errors.ts";
import { RequestId } from "../../core/ids.ts";
import type { GenerationEvent } from "../../generations/mod.ts";
import type { ChatEngine } from "../../engine/chat_engine.ts";
import { json } from "../responses.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { EventQueue } from "./event_queue.ts";
import { readJsonBody, validate } from "./request_body.ts";
import type { RouteContext } from "./route.ts";
import { ChatCompletionRequest, type ChatMessageIn, ResumeQuery } from "./schemas.ts";
import { type SseEvent, sseResponse } from "./sse.ts";
import type { YychatMetrics } from "../../observability/yychat_metrics.ts";

type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Handles one chat completion request; see the module doc. */
export async function chatCompletions(ctx: RouteContext): Promise<Response> {
  const { settings, services, generations } = ctx.deps;
  const engine = services.engine;
  const body = await readJsonBody(ctx.req, ChatCompletionRequest, settings.maxRequestBytes);
  const request: EngineRequest = {
    messages: toEngineMessages(body.messages),
    useTools: body.use_tools ?? settings.useToolsDefault,
    namespace: ctx.namespace,
    overrides: overrides(body, engine),
  };
  if (body.conversation_id != null) request.conversationId = body.conversation_id;
  if (body.personality_id != null) request.personalityId = body.personality_id;
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const stream = body.stream === true;
  const queue = new EventQueue(settings.ws.maxBufferedBytes);
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
    first = await (stream ? queue.first() : lastEvent(queue));
  } finally {
    ctx.req.signal.removeEventListener("abort", onHangUp);
  }
  if (ctx.req.signal.aborted) onHangUp();
  if (first === undefined || first.type === "error") throw failure(first);

  const meta: ChunkMeta = {
    id,
    created: Math.floor(Date.now() / 1000),
    model: request.overrides?.model ?? engine.model,
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
  const finish = ctx.deferLog();
  return sseResponse(sseEvents(queue, meta, ctx.deps.metrics), {
    keepAliveMs: settings.sseKeepAliveMs,
    onCancel: onHangUp,
    onEnd: (outcome) => finish({ stream: true, outcome }),
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
  const { settings, services, generations } = ctx.deps;
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
  const snapshot = queue.info?.snapshot;
  const finish = ctx.deferLog();
  return sseResponse(sseEvents(queue, meta, ctx.deps.metrics, snapshot), {
    keepAliveMs: settings.sseKeepAliveMs,
    onCancel: () => {
      attachment.detach("leave");
      queue.finished();
    },
    onEnd: (outcome) => finish({ stream: true, outcome }),
    headers: { "x-yychat-request-id": requestId },
  });
}

/** The terminal event of a non-streaming generation. */
async function lastEvent(queue: EventQueue): Promise<GenerationEvent | undefined> {
  let last: GenerationEvent | undefined;
  for (let e = await queue.next(); e !== undefined; e = await queue.next()) {
    if (e.type === "end" || e.type === "error") last = e;
  }
  return last;
}

/** The HTTP error for a generation that failed before any output (or vanished). */
function failure(event: GenerationEvent | undefined): HttpError {
  if (event?.type === "error") return toHttpError(new ChatError(event.code, event.message));
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

function completion(end: Extract<GenerationEvent, { type: "end" }>, meta: ChunkMeta) {
  return {
    id: meta.id,
    object: "chat.completion",
    created: meta.created,
    model: end.model || meta.model,
    choices: [{
      index: 0,
      message: { role: "assistant", content: end.content, refusal: null },
      logprobs: null,
      finish_reason: openAIFinishReason(end.finishReason),
    }],
    ...(end.usage ? { usage: end.usage } : {}),
    system_fingerprint: null,
  };
}

/** The SSE events of one completion: role chunk, deltas, finish, usage, `[DONE]`. */
async function* sseEvents(
  queue: EventQueue,
  meta: ChunkMeta,
  metrics: YychatMetrics | undefined,
  snapshot?: { seq: number; content: string },
): AsyncGenerator<SseEvent> {
  const base = {
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: null,
  };
  // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
  const usageField = meta.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finishReason: OpenAIFinishReason | null = null) =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...usageField,
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
        yield { id: e.seq, data: chunk({ role: "assistant", content: "", refusal: null }) };
        break;
      case "chunk":
        yield { id: e.seq, data: chunk({ content: e.content }) };
        break;
      case "end":
        if (!meta.stream) {
          yield { id: e.seq, data: chunk({ role: "assistant", content: e.content }) };
        }
        yield { id: e.seq, data: chunk({}, openAIFinishReason(e.finishReason)) };
        if (meta.includeUsage) {
          yield {
            id: e.seq,
            data: JSON.stringify({ ...base, choices: [], usage: e.usage ?? null }),
          };
        }
        yield { data: "[DONE]" };
        return;
      case "error": {
        // Headers went out already: this event is the error the client sees (counted here).
        metrics?.error(e.code);
        const err = toHttpError(new ChatError(e.code, e.message));
        yield {
          id: e.seq,
          data: JSON.stringify({
            error: {
              message: err.message,
              type: errorTypeOf(e.code),
              param: err.options.param ?? null,
              code: e.code,
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

/** OpenAI clients know four finish reasons; anything else reads as `stop`. */
function openAIFinishReason(reason: string): OpenAIFinishReason {
  return reason === "length" || reason === "tool_calls" || reason === "content_filter"
    ? reason
    : "stop";
}

/**
 * The client's messages in the engine's shape: `developer` reads as
 * `system`, tool results get the tool's name from the call they answer.
 */
export function toEngineMessages(messages: ChatMessageIn[]): ChatMessage[] {
  const toolNames = new Map<string, string>();
  return messages.map((m): ChatMessage => {
    switch (m.role) {
      case "system":
      case "developer":
        return { role: "system", content: m.content };
      case "user":
        return { role: "user", content: m.content };
      case "assistant": {
        const calls = (m.tool_calls ?? []).map((c) => ({
          id: c.id,
          name: c.function.name,
          arguments: c.function.arguments,
        }));
        for (const c of calls) toolNames.set(c.id, c.name);
        return calls.length > 0
          ? { role: "assistant", content: m.content ?? null, tool_calls: calls }
          : { role: "assistant", content: m.content ?? "" };
      }
      case "tool": {
        const name = toolNames.get(m.tool_call_id);
        return {
          role: "tool",
          content: m.content,
          tool_call_id: m.tool_call_id,
          ...(name ? { name } : {}),
        };
      }
    }
  });
}

/**
 * Sampling overrides. `model` is passed on only to a real provider (an
 * OpenAI-compatible server decides which models it serves); the offline
 * provider has one model and ignores the field.
 */
function overrides(body: ChatCompletionRequest, engine: ChatEngine): SamplingOverrides {
  const o: SamplingOverrides = {};
  if (body.model && !engine.offline) o.model = body.model;
  if (body.temperature != null) o.temperature = body.temperature;
  if (body.top_p != null) o.topP = body.top_p;
  if (body.max_completion_tokens != null) {
    o.maxTokens = body.max_completion_tokens;
    o.maxTokensField = "max_completion_tokens";
  } else if (body.max_tokens != null) {
    o.maxTokens = body.max_tokens;
  }
  if (body.stop != null) o.stop = typeof body.stop === "string" ? [body.stop] : body.stop;
  return o;
}
