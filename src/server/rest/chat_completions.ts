/**
 * `POST /v1/chat/completions`: OpenAI's Chat Completions over the chat
 * engine, as one JSON completion or an SSE stream of chunks ending
 * `data: [DONE]`.
 *
 * The response status is decided by the engine's first event: headers are
 * sent only once the engine produced something, so a failure that happens
 * before any output (unknown personality, provider 429, timeout) gets its
 * real status even on a streaming request. A failure after that is reported
 * as a final `data: {"error": …}` event. A client that disconnects aborts
 * the engine run, and with it the provider request and running tool calls.
 */
import type { ChatEngine } from "../../engine/chat_engine.ts";
import { ChatError } from "../../core/errors.ts";
import type {
  ChatMessage,
  EngineEvent,
  EngineRequest,
  SamplingOverrides,
  Usage,
} from "../../core/chat.ts";
import { json } from "../responses.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { readJsonBody } from "./request_body.ts";
import { followClient, type RouteContext } from "./route.ts";
import { ChatCompletionRequest, type ChatMessageIn } from "./schemas.ts";
import { sseResponse } from "./sse.ts";
import type { GenerationMetrics, YychatMetrics } from "../../observability/yychat_metrics.ts"; // metrics:

type OpenAIFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

/** Handles one chat completion request; see the module doc. */
export async function chatCompletions(ctx: RouteContext): Promise<Response> {
  const { settings, services } = ctx.deps;
  const engine = services.engine;
  const body = await readJsonBody(ctx.req, ChatCompletionRequest, settings.maxRequestBytes);
  const personalityId = body.personality_id ?? undefined;
  if (personalityId !== undefined && !engine.personalities.has(personalityId)) {
    throw new HttpError(
      400,
      `Unknown personality "${personalityId}": available are ${
        engine.personalities.list().map((p) => p.id).join(", ")
      }`,
      { param: "personality_id", code: "personality_not_found" },
    );
  }
  const request: EngineRequest = {
    messages: toEngineMessages(body.messages),
    conversationId: body.conversation_id ?? undefined,
    personalityId,
    useTools: body.use_tools ?? settings.useToolsDefault,
    namespace: ctx.namespace,
    overrides: overrides(body, engine),
  };
  const model = request.overrides?.model ?? engine.model;
  const id = `chatcmpl-${crypto.randomUUID().replaceAll("-", "")}`;
  const created = Math.floor(Date.now() / 1000);

  const ac = new AbortController();
  // Until the response exists a disconnect shows only on the request's
  // signal; once streaming, the body's cancel reports it instead. A shutdown
  // that stops waiting cancels the request either way.
  const unfollow = followClient(ctx.req, ac);
  const onShutdown = () => ac.abort(ctx.deps.inFlight.signal.reason);
  ctx.deps.inFlight.signal.addEventListener("abort", onShutdown, { once: true });
  ac.signal.addEventListener(
    "abort",
    () => ctx.deps.inFlight.signal.removeEventListener("abort", onShutdown),
    { once: true },
  );
  const gen = ctx.deps.metrics?.startGeneration("rest"); // metrics:
  const events = engine.run(request, { signal: ac.signal })[Symbol.asyncIterator]();
  let first: IteratorResult<EngineEvent>;
  try {
    first = await events.next();
  } catch (err) {
    unfollow();
    ac.abort();
    gen?.fail(errorCode(err)); // metrics:
    throw err;
  }

  if (body.stream !== true) {
    try {
      let result = first;
      while (!result.done && result.value.type !== "done") result = await events.next();
      if (result.done) throw new ChatError("internal_error", "The engine ended without a reply");
      const done = result.value as Extract<EngineEvent, { type: "done" }>;
      gen?.finish(done.finishReason, done.usage); // metrics:
      return json(
        {
          id,
          object: "chat.completion",
          created,
          model: done.model,
          choices: [{
            index: 0,
            message: { role: "assistant", content: done.content, refusal: null },
            logprobs: null,
            finish_reason: openAIFinishReason(done.finishReason),
          }],
          ...(done.usage ? { usage: done.usage } : {}),
          system_fingerprint: null,
        },
        200,
        { "x-request-id": ctx.requestId },
      );
    } catch (err) {
      gen?.fail(errorCode(err)); // metrics:
      throw err;
    } finally {
      // Stops the engine if the reply failed part-way; a no-op after success.
      unfollow();
      ac.abort();
      await events.return(undefined);
    }
  }

  unfollow();
  const finish = ctx.deferLog();
  const payloads = streamChunks(first, events, {
    id,
    created,
    model,
    includeUsage: body.stream_options?.include_usage === true,
    gen, // metrics:
    metrics: ctx.deps.metrics, // metrics:
  });
  return sseResponse(payloads, {
    onCancel: () => ac.abort(),
    onEnd: (outcome) => {
      gen?.fail(outcome === "cancelled" ? "cancelled" : "internal_error"); // metrics: no-op once ended
      ac.abort();
      finish({ stream: true, outcome });
    },
    headers: { "x-request-id": ctx.requestId },
  });
}

interface ChunkMeta {
  id: string;
  created: number;
  model: string;
  includeUsage: boolean;
  gen?: GenerationMetrics; // metrics:
  metrics?: YychatMetrics; // metrics:
}

/** The SSE payloads of one streamed completion: role chunk, deltas, finish, usage, `[DONE]`. */
async function* streamChunks(
  first: IteratorResult<EngineEvent>,
  events: AsyncIterator<EngineEvent>,
  meta: ChunkMeta,
): AsyncGenerator<string> {
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
  yield chunk({ role: "assistant", content: "", refusal: null });
  let result = first;
  try {
    while (!result.done) {
      const event = result.value;
      if (event.type === "delta" && event.content !== "") {
        meta.gen?.firstChunk(); // metrics: observed once
        yield chunk({ content: event.content });
      } else if (event.type === "done") {
        meta.gen?.finish(event.finishReason, event.usage); // metrics:
        yield chunk({}, openAIFinishReason(event.finishReason));
        if (meta.includeUsage) {
          const usage: Usage | null = event.usage ?? null;
          yield JSON.stringify({ ...base, choices: [], usage });
        }
        break;
      }
      result = await events.next();
    }
    yield "[DONE]";
  } catch (err) {
    const e = toHttpError(err);
    meta.gen?.fail(errorCode(e)); // metrics:
    meta.metrics?.error(errorCode(e)); // metrics: the SSE error event
    yield JSON.stringify({
      error: {
        message: e.message,
        type: e.options.type ?? (e.status >= 500 ? "server_error" : "invalid_request_error"),
        param: e.options.param ?? null,
        code: e.options.code ?? null,
      },
    });
  } finally {
    await events.return?.();
  }
}

/** metrics: the stable code a failure is reported to the client with. */
function errorCode(err: unknown): string {
  return toHttpError(err).options.code ?? "internal_error";
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
