/**
 * What the OpenAI-compatible speech engines share: the endpoint and its
 * key (sent, never logged or echoed: error texts are redacted), upstream
 * failures mapped to stable codes, and bounded reading of response bodies.
 */
import { ChatError } from "../core/errors.ts";
import { errorMessage } from "../core/spawn.ts";

/** Where an OpenAI-compatible `/v1/audio/*` server is and how to reach it. */
export interface HttpSpeechOptions {
  /** Base URL ending in `/v1` (OpenAI, speaches, Kokoro-FastAPI, LocalAI). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`; local servers often need none. */
  apiKey?: string;
  /** Model id sent when the request names none. */
  model: string;
  /** STT: the whole request; TTS: until the first byte, and between bytes. */
  timeoutMs: number;
  /** Tests inject one. */
  fetch?: typeof fetch;
}

/** `baseUrl` + `path`, with exactly one slash between them. */
export function endpoint(baseUrl: string, path: string): string {
  return baseUrl.replace(/\/+$/, "") + path;
}

export function authHeaders(apiKey: string | undefined): Record<string, string> {
  return apiKey ? { authorization: `Bearer ${apiKey}` } : {};
}

/** Error texts may echo the key (401 bodies do): it never reaches a client or a log. */
export function redact(message: string, apiKey: string | undefined): string {
  let out = message;
  if (apiKey && apiKey.length >= 4) out = out.replaceAll(apiKey, "[redacted]");
  return out.replace(/\bsk-[A-Za-z0-9_*-]{6,}/g, "sk-[redacted]");
}

/** A failed HTTP answer as a coded error (429 → `rate_limited`, 408/504 → `upstream_timeout`). */
export async function upstreamError(res: Response, apiKey: string | undefined): Promise<ChatError> {
  let detail = "";
  try {
    const text = await readText(res, 64 * 1024);
    try {
      const body = JSON.parse(text);
      detail = typeof body?.error?.message === "string"
        ? body.error.message
        : typeof body?.detail === "string"
        ? body.detail
        : text;
    } catch {
      detail = text;
    }
  } catch { /* body unreadable: the status says enough */ }
  const message = redact(
    `The speech server answered HTTP ${res.status}${detail ? `: ${detail.slice(0, 500)}` : ""}`,
    apiKey,
  );
  if (res.status === 429) return new ChatError("rate_limited", message);
  if (res.status === 408 || res.status === 504) return new ChatError("upstream_timeout", message);
  return new ChatError("upstream_error", message);
}

/** One request to the speech server: its signal and timer, and its failures as coded errors. */
export interface RequestScope {
  /** The caller's signal, aborted as well when the timer fires or the scope ends. */
  signal: AbortSignal;
  /** A thrown `fetch`/read failure as a coded error (`cancelled`, `upstream_timeout`, …). */
  fail(err: unknown): ChatError;
  /** The answer has started: the timer stops, the request stays open. */
  stopTimer(): void;
  /** Stops the timer and aborts the request. */
  end(): void;
}

/** A {@linkcode RequestScope} bounded by `options.timeoutMs` and the caller's `signal`. */
export function requestScope(options: HttpSpeechOptions, signal?: AbortSignal): RequestScope {
  const { apiKey, timeoutMs } = options;
  const own = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    own.abort();
  }, timeoutMs);
  return {
    signal: signal ? AbortSignal.any([signal, own.signal]) : own.signal,
    fail(err) {
      if (signal?.aborted) return new ChatError("cancelled", "The request was cancelled");
      if (timedOut) {
        return new ChatError(
          "upstream_timeout",
          `The speech server did not answer within ${timeoutMs} ms`,
        );
      }
      if (err instanceof ChatError) return err;
      return new ChatError(
        "upstream_error",
        redact(`The speech server could not be reached: ${errorMessage(err)}`, apiKey),
        { cause: err },
      );
    },
    stopTimer: () => clearTimeout(timer),
    end() {
      clearTimeout(timer);
      own.abort();
    },
  };
}

/**
 * At most `maxBytes` of `res`'s body as text.
 *
 * @throws {ChatError} `upstream_error` when the body is longer
 */
export async function readText(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let total = 0;
  let out = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new ChatError(
          "upstream_error",
          `The speech server's answer is over ${maxBytes} bytes`,
        );
      }
      out += decoder.decode(value, { stream: true });
    }
  } finally {
    reader.releaseLock();
  }
  return out + decoder.decode();
}
