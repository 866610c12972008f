/**
 * Speech to text through any OpenAI-compatible `POST
 * /v1/audio/transcriptions` (OpenAI, speaches, LocalAI): the audio is sent
 * in its own container (raw `pcm16` wrapped in a WAV header first), the
 * answer mapped to the port's {@linkcode Transcript}. Streaming asks the
 * upstream for SSE and passes its deltas on; an upstream that does not
 * stream (Whisper-style servers answer JSON) gives one delta.
 */
import { ChatError } from "../core/errors.ts";
import { sseData } from "../core/sse.ts";
import type {
  AudioContainer,
  AudioInput,
  EngineStatus,
  SpeechModelInfo,
  SpeechToText,
  TranscribeOptions,
  Transcript,
  TranscriptEvent,
  TranscriptSegment,
  TranscriptWord,
} from "../core/speech.ts";
import {
  authHeaders,
  endpoint,
  type HttpSpeechOptions,
  readText,
  requestScope,
  upstreamError,
} from "./openai_http.ts";
import { pcmToWav } from "./wav.ts";

const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
/** Longest SSE line of a streamed transcription. */
const MAX_SSE_LINE_CHARS = 1024 * 1024;

const FILE_TYPES: Record<AudioContainer, [string, string]> = {
  wav: ["audio.wav", "audio/wav"],
  pcm16: ["audio.wav", "audio/wav"],
  mp3: ["audio.mp3", "audio/mpeg"],
  flac: ["audio.flac", "audio/flac"],
  ogg: ["audio.ogg", "audio/ogg"],
  webm: ["audio.webm", "audio/webm"],
  mp4: ["audio.m4a", "audio/mp4"],
};

/** See the module doc. */
export class OpenAICompatibleStt implements SpeechToText {
  readonly offline = false;
  readonly model: string;
  readonly #options: HttpSpeechOptions;
  readonly #fetch: typeof fetch;

  constructor(options: HttpSpeechOptions) {
    this.#options = options;
    this.model = options.model;
    this.#fetch = options.fetch ?? fetch;
  }

  models(): SpeechModelInfo[] {
    return [{
      id: this.model,
      kind: "stt",
      offline: false,
      description: `Speech to text by the OpenAI-compatible server at ${
        new URL(this.#options.baseUrl).host
      }`,
    }];
  }

  status(): Promise<EngineStatus> {
    return Promise.resolve({ available: true });
  }

  async transcribe(audio: AudioInput, options: TranscribeOptions = {}): Promise<Transcript> {
    const verbose = options.verbose === true || options.wordTimestamps === true;
    const call = requestScope(this.#options, options.signal);
    try {
      const res = await this.#send(audio, options, false, call.signal);
      const text = await readText(res, MAX_ANSWER_BYTES);
      if (!verbose && !isJson(res)) return this.#transcript(audio, options, { text: text.trim() });
      return this.#transcript(audio, options, parseJson(text));
    } catch (err) {
      throw call.fail(err);
    } finally {
      call.end();
    }
  }

  async *transcribeStream(
    audio: AudioInput,
    options: TranscribeOptions = {},
  ): AsyncGenerator<TranscriptEvent> {
    const call = requestScope(this.#options, options.signal);
    try {
      let res: Response;
      try {
        res = await this.#send(audio, options, true, call.signal);
      } catch (err) {
        throw call.fail(err);
      }
      const type = res.headers.get("content-type") ?? "";
      if (!type.startsWith("text/event-stream") || !res.body) {
        let t: Transcript;
        try {
          t = this.#transcript(audio, options, parseJson(await readText(res, MAX_ANSWER_BYTES)));
        } catch (err) {
          throw call.fail(err);
        }
        if (t.text) yield { type: "delta", text: t.text };
        yield { type: "done", transcript: t };
        return;
      }
      let text = "";
      const events = sseData(res.body, { maxLineChars: MAX_SSE_LINE_CHARS });
      for (;;) {
        let next: IteratorResult<string>;
        try {
          next = await events.next();
        } catch (err) {
          throw call.fail(
            err instanceof RangeError
              ? new ChatError("upstream_error", "The speech server sent an SSE line over 1 MiB")
              : err,
          );
        }
        if (next.done || next.value === "[DONE]") break;
        const event = parseJson(next.value);
        if (event.type === "transcript.text.delta" && typeof event.delta === "string") {
          text += event.delta;
          yield { type: "delta", text: event.delta };
        } else if (event.type === "transcript.text.done") {
          const done = typeof event.text === "string" ? event.text : text;
          yield { type: "done", transcript: this.#transcript(audio, options, { text: done }) };
          return;
        }
      }
      throw new ChatError(
        "upstream_error",
        "The speech server's stream ended without transcript.text.done",
      );
    } finally {
      call.end();
    }
  }

  /** Sends the request; resolves with the OK response (rejects with the upstream's error). */
  async #send(
    audio: AudioInput,
    options: TranscribeOptions,
    stream: boolean,
    signal: AbortSignal,
  ): Promise<Response> {
    const verbose = options.verbose === true || options.wordTimestamps === true;
    const form = new FormData();
    const [name, type] = FILE_TYPES[audio.container];
    const data = audio.container === "pcm16"
      ? pcmToWav(audio.data, audio.sampleRate!, audio.channels ?? 1)
      : audio.data;
    form.append("file", new File([data as Uint8Array<ArrayBuffer>], name, { type }));
    form.append("model", options.model ?? this.model);
    if (options.language) form.append("language", options.language);
    if (options.prompt) form.append("prompt", options.prompt);
    form.append("response_format", verbose && !stream ? "verbose_json" : "json");
    if (!stream && options.wordTimestamps) {
      form.append("timestamp_granularities[]", "word");
      form.append("timestamp_granularities[]", "segment");
    }
    if (stream) form.append("stream", "true");
    const res = await this.#fetch(endpoint(this.#options.baseUrl, "/audio/transcriptions"), {
      method: "POST",
      headers: authHeaders(this.#options.apiKey),
      body: form,
      signal,
    });
    if (!res.ok) throw await upstreamError(res, this.#options.apiKey);
    return res;
  }

  // deno-lint-ignore no-explicit-any
  #transcript(audio: AudioInput, options: TranscribeOptions, body: any): Transcript {
    if (typeof body?.text !== "string") {
      throw new ChatError("upstream_error", "The speech server's answer has no text");
    }
    const duration = typeof body.duration === "number"
      ? body.duration
      : typeof body.usage?.seconds === "number"
      ? body.usage.seconds
      : audio.durationSeconds;
    const segments: TranscriptSegment[] | undefined = Array.isArray(body.segments)
      ? body.segments
        .filter((s: unknown) => typeof (s as TranscriptSegment)?.text === "string")
        .map((s: TranscriptSegment) => ({ start: +s.start || 0, end: +s.end || 0, text: s.text }))
      : undefined;
    const words: TranscriptWord[] | undefined = Array.isArray(body.words)
      ? body.words
        .filter((w: unknown) => typeof (w as TranscriptWord)?.word === "string")
        .map((w: TranscriptWord) => ({ word: w.word, start: +w.start || 0, end: +w.end || 0 }))
      : undefined;
    const language = languageCode(body.language, options.language);
    return {
      text: body.text,
      model: options.model ?? this.model,
      ...(language ? { language } : {}),
      ...(duration !== undefined ? { durationSeconds: duration } : {}),
      ...(segments ? { segments } : {}),
      ...(words ? { words } : {}),
    };
  }
}

function isJson(res: Response): boolean {
  return (res.headers.get("content-type") ?? "").includes("json");
}

// deno-lint-ignore no-explicit-any
function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new ChatError("upstream_error", "The speech server's answer is not valid JSON");
  }
}

/** Whisper's `verbose_json` names the language (`english`); the port uses codes where it can. */
function languageCode(reported: unknown, requested: string | undefined): string | undefined {
  if (typeof reported === "string" && reported) {
    return reported.toLowerCase() === "english"
      ? "en"
      : reported.toLowerCase() === "chinese"
      ? "zh"
      : reported;
  }
  return requested;
}
