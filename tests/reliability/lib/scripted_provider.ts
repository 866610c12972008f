/**
 * An OpenAI mock whose answers are chosen by the user message, so many
 * concurrent clients (soak, churn, crash) can share one mock without a
 * scripted queue: the words in the prompt pick the reply.
 *
 * - `[fail500]` → HTTP 500 (an injected fault), `[fail429]` → HTTP 429
 * - `[calc]` → a `calculator` tool call, then (on the tool result) a text reply
 * - `[slow]` / `[slow:N]` → 40 / N words, 25 ms apart (for cancels and kills mid-stream)
 * - `[big:N]` → N words of 1 KiB each, no delay (slow-consumer pressure)
 * - anything else → 12 words, 2 ms apart
 */
import {
  type MockResponse,
  OpenAIMock,
  type RecordedRequest,
  textReply,
  toolCallReply,
} from "../../helpers/openai_mock.ts";

function lastMessage(req: RecordedRequest): { role?: string; content?: unknown } {
  const messages = req.body?.messages;
  return Array.isArray(messages) ? messages.at(-1) ?? {} : {};
}

export function scriptedAnswer(req: RecordedRequest): MockResponse {
  const last = lastMessage(req);
  if (last.role === "tool") return textReply("The calculator says 5.");
  const content = typeof last.content === "string" ? last.content : "";
  if (content.includes("[fail500]")) {
    return { kind: "error", status: 500, message: "injected fault" };
  }
  if (content.includes("[fail429]")) {
    return { kind: "error", status: 429, message: "injected rate limit" };
  }
  if (content.includes("[calc]")) {
    return toolCallReply([{
      id: `call_${crypto.randomUUID().slice(0, 8)}`,
      name: "calculator",
      arguments: { operation: "add", a: 2, b: 3 },
    }]);
  }
  const slow = /\[slow(?::(\d+))?\]/.exec(content);
  if (slow) {
    const words = Number(slow[1] ?? 40);
    return textReply(Array.from({ length: words }, (_, i) => `slow${i}`).join(" "), {
      chunkDelayMs: 25,
    });
  }
  const big = /\[big:(\d+)\]/.exec(content);
  if (big) {
    const word = "x".repeat(1023);
    return textReply(Array.from({ length: Number(big[1]) }, () => word).join(" "));
  }
  return textReply("Hello! This is a scripted reply from the OpenAI mock, twelve words.", {
    chunkDelayMs: 2,
  });
}

/** Starts an OpenAI mock that answers with {@linkcode scriptedAnswer}. */
export function startScriptedProvider(): Promise<OpenAIMock> {
  return OpenAIMock.start({ fallback: scriptedAnswer });
}

/** Environment pointing a yychat server at `mock`, with no retries (faults surface at once). */
export function providerEnv(mock: OpenAIMock): Record<string, string> {
  return {
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-reliability-provider-key",
    PROVIDER_MAX_RETRIES: "0",
  };
}
