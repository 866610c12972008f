/**
 * The audio routes, OpenAI-compatible: `POST /v1/audio/transcriptions`
 * (multipart upload, JSON/text/verbose JSON or an SSE stream of
 * `transcript.text.*` events), `POST /v1/audio/speech` (the audio streamed as
 * it is made, or SSE `speech.audio.*` events), `GET /v1/audio/voices` and
 * `GET /v1/audio/models`. Thin adapters over the speech ports; without an
 * engine they answer 503 `audio_engine_unavailable` and nothing else is
 * affected.
 *
 * As in the chat route, the response status is decided by the engine's
 * first output, so a failure before any audio or text gets its real status;
 * a client that goes away stops the engine (child processes are killed).
 */
import { ChatError, type ErrorCode } from "../../core/errors.ts";
import {
  type AudioChunks,
  type AudioInput,
  type EngineStatus,
  SPEECH_FORMATS,
  type SpeechFormat,
  type Transcript,
  type TranscriptEvent,
} from "../../core/speech.ts";
import { validateAudioFile } from "../../voice/audio_input.ts";
import { json } from "../responses.ts";
import { SpeechRequest, TRANSCRIPTION_FORMATS, TranscriptionFields } from "./audio_schemas.ts";
import { HttpError, toHttpError } from "./errors.ts";
import { formFields, readFormBody } from "./multipart_body.ts";
import { readJsonBody, validate } from "./request_body.ts";
import { followClient, type RouteContext } from "./route.ts";
import { type SseEvent, sseResponse } from "./sse.ts";

/** Room for the multipart framing and text fields next to the audio itself. */
const FORM_OVERHEAD_BYTES = 256 * 1024;
/** Raw bytes per `speech.audio.delta` event (base64 makes it a third larger). */
const SSE_AUDIO_CHUNK_BYTES = 32 * 1024;

/** The `param` each coded audio failure is about. */
const PARAMS: Partial<Record<ErrorCode, string>> = {
  invalid_audio: "file",
  empty_audio: "file",
  unsupported_audio_format: "file",
  unsupported_sample_rate: "file",
  audio_too_large: "file",
  unsupported_response_format: "response_format",
  voice_not_found: "voice",
  unsupported_language: "language",
  validation_error: "prompt",
};

/** A coded failure as `toHttpError` makes it, with `param` naming the audio field. */
function audioError(err: unknown): HttpError {
  const http = toHttpError(err);
  if (!(err instanceof ChatError)) return http;
  return new HttpError(http.status, http.message, {
    ...http.options,
    param: PARAMS[err.code] ?? null,
  });
}

/** A controller aborted when the client leaves or the shutdown stops waiting. */
function requestScope(ctx: RouteContext) {
  const ac = new AbortController();
  const unfollow = followClient(ctx.req, ac);
  const shutdown = ctx.deps.inFlight.signal;
  const onShutdown = () => ac.abort(shutdown.reason);
  shutdown.addEventListener("abort", onShutdown, { once: true });
  return {
    signal: ac.signal,
    abort: () => ac.abort(),
    /** Stops following the request (the response took over). */
    unfollow,
    /** Releases everything. */
    end() {
      unfollow();
      shutdown.removeEventListener("abort", onShutdown);
      ac.abort();
    },
  };
}

/** The engine's status, when it is available. */
async function requireAvailable<S extends EngineStatus>(
  engine: { status(): Promise<S> },
): Promise<S> {
  const status = await engine.status();
  if (!status.available) {
    throw audioError(
      new ChatError("audio_engine_unavailable", status.reason ?? "No speech engine"),
    );
  }
  return status;
}

// ---------------------------------------------------------------------------
// POST /v1/audio/transcriptions

/** See the module doc. */
export async function createTranscription(ctx: RouteContext): Promise<Response> {
  const { settings, services } = ctx.deps;
  const stt = services.voice.stt;
  const type = ctx.req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("multipart/form-data")) {
    throw new HttpError(
      415,
      `Unsupported content type "${type}": send multipart/form-data with the audio in "file"`,
      { code: "unsupported_media_type" },
    );
  }
  await requireAvailable(stt);
  const maxAudio = settings.stt.maxAudioBytes;
  const form = await readFormBody(ctx.req, maxAudio + FORM_OVERHEAD_BYTES, () =>
    audioError(
      new ChatError(
        "audio_too_large",
        `The upload is over the limit: audio may be up to ${maxAudio} bytes (STT_MAX_AUDIO_BYTES)`,
      ),
    ));
  const file = form.get("file") ?? form.get("audio_file");
  if (!(file instanceof File)) {
    throw new HttpError(
      400,
      file === null
        ? `Missing audio: send it as the multipart file field "file" (or "audio_file")`
        : `"file" must be a file upload, not a text field`,
      { param: "file", code: "invalid_request" },
    );
  }
  if (file.size > maxAudio) {
    throw audioError(
      new ChatError(
        "audio_too_large",
        `The audio is ${file.size} bytes: the limit is ${maxAudio} bytes (STT_MAX_AUDIO_BYTES)`,
      ),
    );
  }
  const fields = validate(TranscriptionFields, formFields(form, ctx.url));
  const format = fields.response_format || "json";
  if (!(TRANSCRIPTION_FORMATS as readonly string[]).includes(format)) {
    throw audioError(
      new ChatError(
        "unsupported_response_format",
        `response_format "${format}" is not supported: use ${TRANSCRIPTION_FORMATS.join(", ")}`,
      ),
    );
  }
  let audio: AudioInput;
  try {
    audio = validateAudioFile(new Uint8Array(await file.arrayBuffer()), { maxBytes: maxAudio });
  } catch (err) {
    throw audioError(err);
  }
  const words = fields.timestamp_granularities?.includes("word") ?? false;
  const scope = requestScope(ctx);
  const options = {
    model: fields.model || undefined,
    language: fields.language || undefined,
    prompt: fields.prompt || undefined,
    verbose: format === "verbose_json",
    wordTimestamps: words,
    signal: scope.signal,
  };

  if (fields.stream !== true) {
    try {
      const t = await stt.transcribe(audio, options);
      if (format === "text") {
        return new Response(t.text, {
          headers: { "content-type": "text/plain; charset=utf-8" },
        });
      }
      return json(format === "verbose_json" ? verboseJson(t, words) : plainJson(t));
    } catch (err) {
      throw audioError(err);
    } finally {
      scope.end();
    }
  }

  const events = stt.transcribeStream(audio, options)[Symbol.asyncIterator]();
  let first: IteratorResult<TranscriptEvent>;
  try {
    first = await events.next();
  } catch (err) {
    scope.end();
    throw audioError(err);
  }
  scope.unfollow();
  const finish = ctx.deferLog();
  return sseResponse(transcriptEvents(first, events), {
    keepAliveMs: settings.sseKeepAliveMs,
    onCancel: () => scope.abort(),
    onEnd: (outcome) => {
      scope.end();
      finish({ stream: true, outcome });
    },
  });
}

/** OpenAI's streamed transcription events, ending with `transcript.text.done`. */
async function* transcriptEvents(
  first: IteratorResult<TranscriptEvent>,
  events: AsyncIterator<TranscriptEvent>,
): AsyncGenerator<SseEvent> {
  let result = first;
  try {
    while (!result.done) {
      const e = result.value;
      if (e.type === "delta") {
        yield { data: JSON.stringify({ type: "transcript.text.delta", delta: e.text }) };
      } else {
        yield {
          data: JSON.stringify({
            type: "transcript.text.done",
            text: e.transcript.text,
            ...(e.transcript.durationSeconds !== undefined
              ? { usage: { type: "duration", seconds: round(e.transcript.durationSeconds) } }
              : {}),
          }),
        };
        return;
      }
      result = await events.next();
    }
  } catch (err) {
    yield { data: errorEvent(err) };
  } finally {
    await events.return?.();
  }
}

function plainJson(t: Transcript) {
  return {
    text: t.text,
    ...(t.durationSeconds !== undefined
      ? { usage: { type: "duration", seconds: round(t.durationSeconds) } }
      : {}),
  };
}

/** Whisper's `verbose_json`: language by name, duration, segments, words when asked for. */
function verboseJson(t: Transcript, words: boolean) {
  const duration = round(t.durationSeconds ?? 0);
  return {
    task: "transcribe",
    language: languageName(t.language),
    duration,
    text: t.text,
    segments: (t.segments ?? []).map((s, id) => ({
      id,
      seek: 0,
      start: round(s.start),
      end: round(s.end),
      text: s.text,
      tokens: [],
      temperature: 0,
      avg_logprob: 0,
      compression_ratio: 0,
      no_speech_prob: 0,
    })),
    ...(words
      ? { words: (t.words ?? []).map((w) => ({ ...w, start: round(w.start), end: round(w.end) })) }
      : {}),
    usage: { type: "duration", seconds: duration },
  };
}

const LANGUAGE_NAMES: Record<string, string> = {
  en: "english",
  zh: "chinese",
  ja: "japanese",
  ko: "korean",
  de: "german",
  fr: "french",
  es: "spanish",
};

function languageName(code: string | undefined): string {
  if (code === undefined) return "unknown";
  return LANGUAGE_NAMES[code.toLowerCase().split(/[-_]/)[0]!] ?? code;
}

function round(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}

// ---------------------------------------------------------------------------
// POST /v1/audio/speech

/** See the module doc. */
export async function createSpeech(ctx: RouteContext): Promise<Response> {
  const { settings, services } = ctx.deps;
  const tts = services.voice.tts;
  const body = await readJsonBody(ctx.req, SpeechRequest, settings.maxRequestBytes);
  const max = settings.tts.maxTextLength;
  const length = [...body.input].length;
  if (length > max) {
    throw new HttpError(
      400,
      `Invalid "input": it is ${length} characters, the limit is ${max} (TTS_MAX_TEXT_LENGTH)`,
      { param: "input", code: "invalid_request" },
    );
  }
  const status = await requireAvailable(tts);
  const format = (body.response_format || "mp3") as SpeechFormat;
  if (!status.formats.includes(format)) {
    const known = (SPEECH_FORMATS as readonly string[]).includes(format);
    throw audioError(
      new ChatError(
        "unsupported_response_format",
        `response_format "${format}" is not ${
          known ? "available with this speech engine" : "a known format"
        }: ` +
          `use ${status.formats.join(", ")}`,
      ),
    );
  }
  const voice = typeof body.voice === "string" ? body.voice : body.voice?.id;
  const scope = requestScope(ctx);
  let speech;
  try {
    speech = await tts.synthesize(body.input, {
      format,
      voice,
      speed: body.speed ?? undefined,
      model: body.model ?? undefined,
      instructions: body.instructions ?? undefined,
      signal: scope.signal,
    });
  } catch (err) {
    scope.end();
    throw audioError(err);
  }
  scope.unfollow();
  const finish = ctx.deferLog();
  const headers = {
    "x-request-id": ctx.requestId,
    "x-yychat-sample-rate": String(speech.sampleRate),
    "x-yychat-voice": speech.voice,
  };
  const chunks = speech.chunks;

  if (body.stream_format === "sse") {
    return sseResponse(speechEvents(chunks), {
      keepAliveMs: settings.sseKeepAliveMs,
      onCancel: () => scope.abort(),
      onEnd: (outcome) => {
        scope.end();
        finish({ stream: true, outcome });
      },
      headers,
    });
  }

  let ended = false;
  const end = (outcome: string) => {
    if (ended) return;
    ended = true;
    scope.end();
    finish({ stream: true, outcome });
  };
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = await chunks.next();
        if (next.done) {
          controller.close();
          end("completed");
        } else {
          controller.enqueue(next.value);
        }
      } catch (err) {
        // Headers are sent: a broken body is the only way left to say the audio is incomplete.
        controller.error(err);
        end("failed");
      }
    },
    async cancel() {
      end("cancelled");
      await chunks.return();
    },
  }, { highWaterMark: 0 });
  return new Response(stream, {
    headers: { ...headers, "content-type": speech.contentType },
  });
}

/** OpenAI's `speech.audio.delta` events (base64 audio), then `speech.audio.done`. */
async function* speechEvents(chunks: AudioChunks): AsyncGenerator<SseEvent> {
  try {
    for await (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += SSE_AUDIO_CHUNK_BYTES) {
        const part = chunk.subarray(at, at + SSE_AUDIO_CHUNK_BYTES);
        yield { data: JSON.stringify({ type: "speech.audio.delta", audio: part.toBase64() }) };
      }
    }
    // Token counts are an upstream notion; the offline engines use no tokens.
    yield {
      data: JSON.stringify({
        type: "speech.audio.done",
        usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
      }),
    };
  } catch (err) {
    yield { data: errorEvent(err) };
  }
}

function errorEvent(err: unknown): string {
  const e = audioError(err);
  return JSON.stringify({
    type: "error",
    error: {
      message: e.message,
      type: e.options.type ?? (e.status >= 500 ? "server_error" : "invalid_request_error"),
      param: e.options.param ?? null,
      code: e.options.code ?? null,
    },
  });
}

// ---------------------------------------------------------------------------
// GET /v1/audio/voices, GET /v1/audio/models

/**
 * `GET /v1/audio/voices`: `data` maps voice id → description (the original
 * service's shape); `voices` has the details.
 */
export async function listVoices(ctx: RouteContext): Promise<Response> {
  const tts = ctx.deps.services.voice.tts;
  await requireAvailable(tts);
  const voices = await tts.voices();
  return json({
    status: "success",
    default_voice: tts.defaultVoice,
    model: tts.model,
    data: Object.fromEntries(voices.map((v) => [v.id, v.description])),
    voices,
  });
}

/** `GET /v1/audio/models`: the models of the engines that can run here. */
export async function listAudioModels(ctx: RouteContext): Promise<Response> {
  const { stt, tts } = ctx.deps.services.voice;
  const [s, t] = await Promise.all([stt.status(), tts.status()]);
  if (!s.available && !t.available) {
    await requireAvailable(stt);
  }
  const models = [...(s.available ? stt.models() : []), ...(t.available ? tts.models() : [])];
  return json({
    status: "success",
    data: Object.fromEntries(models.map((m) => [m.id, m.description])),
    models: models.map((m) => ({
      id: m.id,
      object: "model",
      kind: m.kind,
      offline: m.offline,
      owned_by: m.offline ? "yychat" : "upstream",
      description: m.description,
    })),
  });
}
