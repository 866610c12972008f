/**
 * The chat engine: personality prompt + memory + the client's messages → the
 * provider, with a multi-round tool loop, streamed as {@linkcode EngineEvent}s.
 * Used by the WebSocket text handler and the REST API alike.
 */
import { raceAbort } from "../core/race_abort.ts";
import { ChatError } from "../core/errors.ts";
import {
  type ChatMessage,
  concatLogprobs,
  type EngineEvent,
  type EngineRequest,
  type FinishReason,
  type GenerationParams,
  type Logprobs,
  type ToolCall,
  type Usage,
} from "../core/chat.ts";
import { addUsage } from "./provider.ts";
import type { Provider } from "./provider.ts";
import { PendingRounds } from "./pending_rounds.ts";
import { renderSystemPrompt } from "./personalities.ts";
import type { Personalities, Personality } from "./personalities.ts";
import { type MemoryStore, memoryUnavailable } from "../memory/store.ts";
import type { ToolSource, ToolSpec } from "../tools/tool.ts";
import type { Logger } from "../core/logger.ts";
import { silentLogger } from "../core/logger.ts";

export interface ChatEngineOptions {
  provider: Provider;
  memory: MemoryStore;
  personalities: Personalities;
  /** Earlier sources win on a name clash: built-ins first, then MCP. */
  toolSources: ToolSource[];
  /** Tool-executing rounds per request; then one last call without tools. */
  maxToolRounds: number;
  /** Bound on each single tool call. */
  toolTimeoutMs: number;
  /** Estimated-token budget for recalled history. */
  contextTokenBudget: number;
  /** Most recent stored messages considered for the context. */
  maxMessageHistoryCount: number;
  /**
   * Longest tool result (JSON characters) passed back to the model; longer
   * ones are cut and wrapped as `{"truncated": true, "content": …}`.
   * Default 32,000.
   */
  maxToolResultChars?: number;
  logger?: Logger;
  /** Replies handed back for client tool calls (default: bounded, 10 minutes). */
  pendingRounds?: PendingRounds;
}

export interface RunOptions {
  signal: AbortSignal;
}

/** One executed tool call, as the model and the memory see it. */
interface ToolOutcome {
  call: ToolCall;
  ok: boolean;
  /** JSON text passed back to the model. */
  content: string;
}

/** The chat engine; see the module doc. */
export class ChatEngine {
  readonly #provider: Provider;
  readonly #memory: MemoryStore;
  readonly #personalities: Personalities;
  readonly #sources: ToolSource[];
  readonly #opts: ChatEngineOptions;
  readonly #logger: Logger;
  readonly #pending: PendingRounds;

  constructor(options: ChatEngineOptions) {
    this.#provider = options.provider;
    this.#memory = options.memory;
    this.#personalities = options.personalities;
    this.#sources = options.toolSources;
    this.#opts = options;
    this.#logger = options.logger ?? silentLogger;
    this.#pending = options.pendingRounds ?? new PendingRounds();
  }

  /** Model id answering requests (`yychat-offline` for the offline provider). */
  get model(): string {
    return this.#provider.model;
  }

  /** True when the built-in offline demo provider answers. */
  get offline(): boolean {
    return this.#provider.offline;
  }

  get personalities(): Personalities {
    return this.#personalities;
  }

  get memory(): MemoryStore {
    return this.#memory;
  }

  /** Every tool the engine can offer, de-duplicated by name (earlier sources win). */
  tools(): ToolSpec[] {
    return [...this.#toolIndex().values()].map((entry) => entry.spec);
  }

  /**
   * Runs one request. Yields deltas and tool events, then exactly one `done`
   * whose `content` is the concatenation of every delta (all rounds).
   *
   * Failure and cancellation: the iterator throws {@linkcode ChatError}
   * (`cancelled` when `signal` aborts, or a provider code) and no `done` is
   * emitted; the error carries no partial text, so a caller that must report
   * what was streamed so far (WS `stream_end{finish_reason:"cancelled"}`)
   * accumulates the deltas itself. Memory is written once, only after a
   * complete turn: an error or a cancel stores nothing, and neither does a
   * turn whose conversation was cleared while it ran. A memory failure is
   * `memory_unavailable`.
   *
   * With `conversationId`, memory stands for the earlier turns: the new turn
   * is the messages after the last assistant message of `request.messages`;
   * it goes after the remembered history in the prompt and is stored, with
   * this run's assistant and tool messages, once the run completes.
   *
   * Stopping iteration early (`break`/`return()`) aborts the provider and
   * any running tool calls as well.
   *
   * Client tools (`request.clientTools`) are offered next to yychat's; a
   * client tool shadows a yychat tool of the same name for that request. A
   * model answer calling any client tool ends the reply with
   * `finishReason: "tool_calls"` and those calls in `done.toolCalls`; yychat's
   * own calls in the same answer are run first, and their results are kept
   * (`PendingRounds`) so the client's continuation — its `tool` messages —
   * prompts the model with the whole exchange. Such a reply stores nothing:
   * the continuation stores the whole turn, from the user message on.
   */
  async *run(request: EngineRequest, { signal }: RunOptions): AsyncGenerator<EngineEvent> {
    const personality = this.#personalities.get(request.personalityId);
    try {
      // Stopping early needs no signal of its own: `return()` closes the
      // provider's iterator (its body is cancelled), and tool calls only run
      // between two yields, so none is running when iteration stops.
      yield* this.#run(request, personality, signal);
    } catch (err) {
      if (signal.aborted) {
        throw new ChatError("cancelled", "The request was cancelled", { cause: err });
      }
      if (err instanceof ChatError && err.code !== "internal_error") throw err;
      // Internal faults are logged here, once, with their details: callers
      // show clients only a generic message.
      this.#logger.error("engine_failed", { error: String(err) });
      if (err instanceof ChatError) throw err;
      throw new ChatError(
        "internal_error",
        `Chat engine failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
  }

  async *#run(
    request: EngineRequest,
    personality: Personality,
    signal: AbortSignal,
  ): AsyncGenerator<EngineEvent> {
    const clientSystem = request.messages.filter((m) => m.role === "system");
    const conversation = this.#withPendingRounds(
      request.namespace,
      request.messages.filter((m) => m.role !== "system"),
    );
    // With memory, stored history stands for the earlier turns: only the
    // messages after the client's last assistant message are new, so a client
    // that resends its whole history gets it neither prompted nor stored twice.
    const input = request.conversationId ? newTurn(conversation) : conversation;
    if (input.length === 0) {
      throw new ChatError("validation_error", "The request has no user message");
    }
    const systemPrompt = [renderSystemPrompt(personality), ...clientSystem.map((m) => m.content)]
      .filter((s): s is string => typeof s === "string" && s.trim() !== "")
      .join("\n\n");

    let history: ChatMessage[] = [];
    // The conversation's epoch at the start: a DELETE of its memory while
    // this turn runs makes the append below store nothing.
    let epoch: number | undefined;
    if (request.conversationId) {
      signal.throwIfAborted();
      try {
        ({ messages: history, epoch } = await this.#memory.context(
          request.namespace,
          request.conversationId,
          {
            query: lastUserText(input),
            tokenBudget: this.#opts.contextTokenBudget,
            maxRecentMessages: this.#opts.maxMessageHistoryCount,
          },
        ));
      } catch (err) {
        throw this.#memoryFailure("context", err);
      }
    }

    const index = request.useTools ? this.#toolIndex() : new Map<string, ToolEntry>();
    const allowed = personality.allowed_tools.map((t) => t.tool_name);
    if (allowed.length > 0) {
      for (const name of [...index.keys()]) if (!allowed.includes(name)) index.delete(name);
    }
    // A client tool shadows a yychat tool of the same name: the client defined
    // it for this request and expects its calls.
    const clientTools = request.clientTools ?? [];
    const clientNames = new Set(clientTools.map((t) => t.function.name));
    for (const name of clientNames) index.delete(name);
    const offered = [...index.values()].map((e) => e.spec);

    const prompt: ChatMessage[] = [{ role: "system", content: systemPrompt }, ...history, ...input];
    const turn: ChatMessage[] = [];
    const stream = request.stream !== false;
    const wantLogprobs = !stream && request.params?.logprobs === true;
    let content = "";
    let refusal: string | undefined;
    let logprobs: Logprobs | undefined;
    let usage: Usage | undefined;
    let model = this.#provider.model;
    let systemFingerprint: string | undefined;
    let serviceTier: string | undefined;
    let finishReason: FinishReason = "stop";
    let handBack: ToolCall[] | undefined;

    for (let round = 0;; round++) {
      signal.throwIfAborted();
      const withTools = offered.length > 0 && round < this.#opts.maxToolRounds;
      let roundText = "";
      let calls: ToolCall[] = [];
      for await (
        const event of this.#provider.complete({
          messages: round === 0 ? prompt : [...prompt, ...turn],
          tools: withTools ? offered : undefined,
          clientTools: clientTools.length > 0 ? clientTools : undefined,
          params: paramsForRound(request.params, round),
          stream,
        }, { signal })
      ) {
        if (event.type === "delta") {
          roundText += event.content;
          content += event.content;
          if (event.refusal !== undefined) refusal = (refusal ?? "") + event.refusal;
          if (wantLogprobs && event.logprobs) logprobs = concatLogprobs(logprobs, event.logprobs);
          yield event;
        } else if (event.type === "tool_calls") {
          calls = event.calls;
        } else {
          finishReason = event.finishReason;
          usage = addUsage(usage, event.usage);
          if (event.model) model = event.model;
          if (event.systemFingerprint) systemFingerprint = event.systemFingerprint;
          if (event.serviceTier) serviceTier = event.serviceTier;
        }
      }
      const clientCalls = calls.filter((c) => clientNames.has(c.name));
      if (calls.length === 0 || (!withTools && clientCalls.length === 0)) {
        // A model that asks for tools after the last round gets no more: report it.
        if (calls.length > 0) finishReason = "tool_calls";
        else if (finishReason === "tool_calls") finishReason = "stop";
        turn.push({ role: "assistant", content: roundText });
        break;
      }
      turn.push({ role: "assistant", content: roundText || null, tool_calls: calls });
      // yychat's own calls run here, also in a round that hands calls back.
      const own = clientCalls.length === calls.length
        ? []
        : calls.filter((c) => !clientNames.has(c.name));
      for (const call of own) {
        yield {
          type: "tool_call",
          id: call.id,
          name: call.name,
          arguments: parseLoose(call.arguments),
        };
      }
      const outcomes = await Promise.all(own.map((call) => this.#execute(call, index, signal)));
      signal.throwIfAborted();
      for (const o of outcomes) {
        turn.push({ role: "tool", tool_call_id: o.call.id, name: o.call.name, content: o.content });
        yield { type: "tool_result", id: o.call.id, name: o.call.name, ok: o.ok };
      }
      if (clientCalls.length > 0) {
        handBack = clientCalls;
        finishReason = "tool_calls";
        this.#pending.put({
          namespace: request.namespace,
          input,
          turn: [...turn],
          clientCallIds: clientCalls.map((c) => c.id),
        });
        break;
      }
    }

    // A reply handed back for client tool calls is stored by its continuation.
    if (request.conversationId && handBack === undefined) {
      signal.throwIfAborted();
      let stored: boolean;
      try {
        ({ stored } = await this.#memory.appendTurn(
          request.namespace,
          request.conversationId,
          [...input, ...turn],
          { epoch },
        ));
      } catch (err) {
        throw this.#memoryFailure("append", err);
      }
      if (!stored) this.#logger.info("memory_turn_dropped", { reason: "conversation_cleared" });
    }
    if (this.#logger.enabled("debug")) {
      this.#logger.debug("engine_done", {
        model,
        finish_reason: finishReason,
        tool_calls: turn.filter((m) => m.role === "tool").length,
        client_tool_calls: handBack?.length ?? 0,
        chars: content.length,
      });
    }
    const done: Extract<EngineEvent, { type: "done" }> = {
      type: "done",
      finishReason,
      content,
      model,
    };
    if (usage) done.usage = usage;
    if (handBack) done.toolCalls = handBack;
    if (refusal !== undefined) done.refusal = refusal;
    if (logprobs) done.logprobs = logprobs;
    if (systemFingerprint) done.systemFingerprint = systemFingerprint;
    if (serviceTier) done.serviceTier = serviceTier;
    yield done;
  }

  /**
   * The client's messages with what yychat kept of replies it handed back
   * (see {@linkcode PendingRounds}): the client's copy of such an assistant
   * message is replaced by the whole exchange; tool results whose call the
   * client did not resend get it (and the user message before it) inserted.
   */
  #withPendingRounds(namespace: string, messages: ChatMessage[]): ChatMessage[] {
    if (this.#pending.size === 0 || !messages.some((m) => m.role === "tool")) return messages;
    const out: ChatMessage[] = [];
    const used = new Set<unknown>();
    const calledIds = new Set<string>();
    for (const m of messages) {
      if (m.role === "assistant" && m.tool_calls?.length) {
        const round = this.#pending.get(namespace, m.tool_calls[0]!.id);
        if (round && !used.has(round)) {
          used.add(round);
          for (const t of round.turn) {
            for (const c of t.tool_calls ?? []) calledIds.add(c.id);
          }
          out.push(...round.turn);
          continue;
        }
        for (const c of m.tool_calls) calledIds.add(c.id);
      } else if (m.role === "tool" && m.tool_call_id && !calledIds.has(m.tool_call_id)) {
        const round = this.#pending.get(namespace, m.tool_call_id);
        if (round && !used.has(round)) {
          used.add(round);
          out.push(...round.input, ...round.turn);
          for (const t of round.turn) {
            for (const c of t.tool_calls ?? []) calledIds.add(c.id);
          }
        }
      }
      out.push(m);
    }
    return out;
  }

  /**
   * Any memory failure (database down, closed store) becomes one stable
   * code; the details go to the log only.
   */
  #memoryFailure(operation: "context" | "append", err: unknown): ChatError {
    return memoryUnavailable(this.#logger, operation, err);
  }

  /** Runs one call; every failure becomes an `{"error": …}` result, never a throw. */
  async #execute(
    call: ToolCall,
    index: Map<string, ToolEntry>,
    signal: AbortSignal,
  ): Promise<ToolOutcome> {
    const fail = (message: string): ToolOutcome => ({
      call,
      ok: false,
      content: JSON.stringify({ error: message }),
    });
    const entry = index.get(call.name);
    if (!entry) return fail(`Unknown tool "${call.name}"`);
    let args: unknown;
    try {
      args = call.arguments.trim() === "" ? {} : JSON.parse(call.arguments);
    } catch (err) {
      return fail(`Invalid JSON arguments for "${call.name}": ${(err as Error).message}`);
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) {
      return fail(`Arguments for "${call.name}" must be a JSON object`);
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.#opts.toolTimeoutMs);
    const callSignal = AbortSignal.any([signal, timeout.signal]);
    const started = performance.now();
    try {
      const result = await raceAbort(
        entry.source.call(call.name, args as Record<string, unknown>, { signal: callSignal }),
        callSignal,
      );
      this.#logger.debug("tool_call", {
        tool: call.name,
        ok: true,
        duration_ms: Math.round(performance.now() - started),
      });
      return { call, ok: true, content: this.#bounded(JSON.stringify(result ?? null) ?? "null") };
    } catch (err) {
      const message = timeout.signal.aborted && !signal.aborted
        ? `Tool "${call.name}" timed out after ${this.#opts.toolTimeoutMs} ms`
        : signal.aborted
        ? "The request was cancelled"
        : err instanceof Error
        ? err.message
        : String(err);
      this.#logger.debug("tool_call", { tool: call.name, ok: false, error: message });
      return fail(message);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Keeps one huge tool result (a web page, a file) from filling the context window. */
  #bounded(json: string): string {
    const max = this.#opts.maxToolResultChars ?? 32_000;
    if (json.length <= max) return json;
    return JSON.stringify({ truncated: true, content: json.slice(0, max) });
  }

  #toolIndex(): Map<string, ToolEntry> {
    const index = new Map<string, ToolEntry>();
    for (const source of this.#sources) {
      for (const spec of source.list()) {
        if (!index.has(spec.name)) index.set(spec.name, { spec, source });
      }
    }
    return index;
  }
}

interface ToolEntry {
  spec: ToolSpec;
  source: ToolSource;
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user") return messages[i]!.content ?? "";
  }
  return "";
}

/** Arguments for the `tool_call` event: parsed when valid JSON, else the raw text. */
function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * The new turn: the messages after the last assistant message (all of them
 * when there is none). When the messages end with tool results answering
 * tool calls (a client continuing a reply handed back for its tools), the
 * exchange since the user message that began it is new too: nothing of it
 * was stored when the calls were handed back.
 */
export function newTurn(messages: ChatMessage[]): ChatMessage[] {
  let end = messages.length;
  for (;;) {
    let j = end;
    while (j > 0 && messages[j - 1]!.role === "tool") j--;
    const caller = messages[j - 1];
    if (
      j === end || caller === undefined || caller.role !== "assistant" || !caller.tool_calls?.length
    ) {
      break;
    }
    end = j - 1;
  }
  let last = -1;
  for (let i = end - 1; i >= 0; i--) {
    if (messages[i]!.role === "assistant") {
      last = i;
      break;
    }
  }
  return messages.slice(last + 1);
}

/**
 * The parameters of one model call. A `tool_choice` that forces a call
 * (`"required"`, or a named function) holds for the first call only: after
 * yychat ran its tools, forcing another call would never end the turn.
 */
function paramsForRound(
  params: GenerationParams | undefined,
  round: number,
): GenerationParams | undefined {
  if (round === 0 || params === undefined) return params;
  const choice = params.tool_choice;
  if (choice === undefined || choice === "auto" || choice === "none") return params;
  return { ...params, tool_choice: "auto" };
}
