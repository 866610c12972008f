/**
 * The built-in offline provider (`yychat-offline`): a deterministic demo and
 * test model used only when no provider is configured. It streams word by
 * word and drives the real tool loop: arithmetic → `calculator`, time
 * questions → `gettime`. It says what it is in every plain answer.
 */
import { ChatError } from "../core/errors.ts";
import type { ChatMessage, ToolCall, Usage } from "../core/chat.ts";
import type { Provider, ProviderCallOptions, ProviderEvent, ProviderRequest } from "./provider.ts";
import { calculate } from "../tools/calculator.ts";
import type { CalculatorOperation } from "../tools/calculator.ts";

export const OFFLINE_MODEL_ID = "yychat-offline";

const NUM = String.raw`(-?\d+(?:\.\d+)?)`;
const SYMBOLS: Record<string, CalculatorOperation> = {
  "+": "add",
  "-": "subtract",
  "*": "multiply",
  "x": "multiply",
  "×": "multiply",
  "/": "divide",
  "÷": "divide",
  "^": "pow",
  "**": "pow",
};
const WORDS: Record<string, CalculatorOperation> = {
  "plus": "add",
  "minus": "subtract",
  "times": "multiply",
  "multiplied by": "multiply",
  "divided by": "divide",
  "to the power of": "pow",
};
const SQRT = new RegExp(String.raw`(?:sqrt|square root of|√)\s*\(?\s*${NUM}`, "i");
const BINARY = new RegExp(String.raw`${NUM}\s*(\*\*|[+\-*x×/÷^])\s*${NUM}`, "i");
const BINARY_WORDS = new RegExp(
  String.raw`${NUM}\s+(plus|minus|times|multiplied by|divided by|to the power of)\s+${NUM}`,
  "i",
);
const TIME =
  /\b(what time|time is it|current time|what(?:'s| is) the time|today's date)\b|几点|时间|日期/i;
const ZONE = /\b([A-Z][A-Za-z_]+\/[A-Za-z_]+(?:\/[A-Za-z_]+)?|UTC)\b/;

/** What the offline model makes of a user message. */
export type OfflineIntent =
  | { kind: "calculator"; args: { operation: CalculatorOperation; a: number; b?: number } }
  | { kind: "gettime"; args: { timezone?: string } }
  | { kind: "chat" };

/** Recognises arithmetic and time questions; everything else is chat. */
export function detectIntent(text: string): OfflineIntent {
  const sqrt = SQRT.exec(text);
  if (sqrt) return { kind: "calculator", args: { operation: "sqrt", a: Number(sqrt[1]) } };
  const words = BINARY_WORDS.exec(text);
  if (words) {
    return {
      kind: "calculator",
      args: {
        operation: WORDS[words[2]!.toLowerCase()]!,
        a: Number(words[1]),
        b: Number(words[3]),
      },
    };
  }
  const bin = BINARY.exec(text);
  if (bin) {
    return {
      kind: "calculator",
      args: { operation: SYMBOLS[bin[2]!.toLowerCase()]!, a: Number(bin[1]), b: Number(bin[3]) },
    };
  }
  if (TIME.test(text)) {
    const zone = ZONE.exec(text)?.[1];
    return { kind: "gettime", args: zone ? { timezone: zone } : {} };
  }
  return { kind: "chat" };
}

/** The offline demo provider; see the module doc. */
export class OfflineProvider implements Provider {
  readonly model = OFFLINE_MODEL_ID;
  readonly offline = true;

  async *complete(
    request: ProviderRequest,
    { signal }: ProviderCallOptions,
  ): AsyncGenerator<ProviderEvent> {
    const cancelled = () => new ChatError("cancelled", "The request was cancelled");
    if (signal.aborted) throw cancelled();
    const offered = new Set((request.tools ?? []).map((t) => t.name));
    const messages = request.messages;
    const last = messages.at(-1);
    let reply: string;

    if (last?.role === "tool") {
      reply = answerFromToolResults(trailingToolResults(messages));
    } else {
      const text = lastUserText(messages);
      const intent = detectIntent(text);
      if (intent.kind !== "chat" && offered.has(intent.kind)) {
        const round = messages.filter((m) => m.role === "assistant" && m.tool_calls?.length).length;
        const call: ToolCall = {
          id: `call_offline_${round + 1}`,
          name: intent.kind,
          arguments: JSON.stringify(intent.args),
        };
        yield { type: "tool_calls", calls: [call] };
        yield {
          type: "finish",
          finishReason: "tool_calls",
          usage: usage(messages, call.arguments),
          model: this.model,
        };
        return;
      }
      reply = answerWithoutTools(intent, text);
    }

    for (const word of reply.match(/\S+\s*/g) ?? [reply]) {
      // Yield to the event loop between words, like a real stream.
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      if (signal.aborted) throw cancelled();
      yield { type: "delta", content: word };
    }
    yield {
      type: "finish",
      finishReason: "stop",
      usage: usage(messages, reply),
      model: this.model,
    };
  }
}

function lastUserText(messages: ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]!.role === "user") return messages[i]!.content ?? "";
  }
  return "";
}

function trailingToolResults(messages: ChatMessage[]): ChatMessage[] {
  const out: ChatMessage[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === "tool"; i--) {
    out.unshift(messages[i]!);
  }
  return out;
}

function answerFromToolResults(results: ChatMessage[]): string {
  return results.map((m) => {
    let value: unknown;
    try {
      value = JSON.parse(m.content ?? "null");
    } catch {
      value = m.content;
    }
    // deno-lint-ignore no-explicit-any
    const v = value as any;
    if (v && typeof v === "object" && typeof v.error === "string") {
      return `The ${m.name ?? "tool"} tool failed: ${v.error}`;
    }
    if (m.name === "calculator" && v && typeof v.result === "number") {
      return `The result is ${formatNumber(v.result)}.`;
    }
    if (m.name === "gettime" && v && typeof v.local_time === "string") {
      return `The current time in ${v.timezone} is ${v.local_time} (${v.weekday}, UTC${v.utc_offset}).`;
    }
    return `The ${m.name ?? "tool"} tool returned: ${m.content}`;
  }).join(" ");
}

function answerWithoutTools(intent: OfflineIntent, text: string): string {
  if (intent.kind === "calculator") {
    try {
      const r = calculate(intent.args.operation, intent.args.a, intent.args.b);
      return `The result is ${formatNumber(r.result)} (computed without tools).`;
    } catch (err) {
      return `I cannot compute that: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  if (intent.kind === "gettime") {
    return `The time tool is not available for this request. This is the yychat offline demo provider, which has no clock of its own.`;
  }
  const quoted = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  return `[offline demo] This is the yychat offline demo provider: no model is configured (set OPENAI_API_KEY or OPENAI_BASE_URL). You said: "${quoted}"`;
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** A rough estimate (4 characters per token), so clients see plausible usage. */
function usage(messages: ChatMessage[], output: string): Usage {
  const promptChars = messages.reduce((n, m) => n + (m.content?.length ?? 0), 0);
  const prompt = Math.ceil(promptChars / 4);
  const completion = Math.ceil(output.length / 4);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
}
