/**
 * The speech ports: {@linkcode SpeechToText} and {@linkcode TextToSpeech}.
 * Engines live in `src/voice/` (offline child processes, any OpenAI-compatible
 * `/v1/audio/*` server); the REST audio routes and the generation layer use
 * them through these interfaces only.
 *
 * Failure is part of the interface: every method rejects with a
 * `ChatError` carrying a stable code — `audio_engine_unavailable` when the
 * engine is not installed, `invalid_audio`/`unsupported_*`/`voice_not_found`
 * for input the engine cannot take, `audio_engine_error` or
 * `upstream_*`/`rate_limited` when the engine fails, `cancelled` when the
 * caller's signal aborted. Nothing is queued without bound.
 */

/** Containers an {@linkcode AudioInput} may hold. `pcm16`: raw signed 16-bit little-endian. */
export const AUDIO_CONTAINERS = ["wav", "pcm16", "mp3", "flac", "ogg", "webm", "mp4"] as const;
export type AudioContainer = (typeof AUDIO_CONTAINERS)[number];

/** Validated audio to transcribe (see `src/voice/audio_input.ts`). */
export interface AudioInput {
  /** The bytes as received (a WAV keeps its header). */
  data: Uint8Array;
  container: AudioContainer;
  /** Known for `wav` and `pcm16`. */
  sampleRate?: number;
  /** Known for `wav` and `pcm16`. */
  channels?: number;
  /** Known for `wav` and `pcm16`, in seconds. */
  durationSeconds?: number;
  /** For `wav`: where the samples start and how many bytes they take. */
  pcm?: { offset: number; length: number };
}

/** What an engine says about itself before it is used. */
export interface EngineStatus {
  available: boolean;
  /** Why not, and how to fix it (`apt-get install espeak-ng`). */
  reason?: string;
}

/** One model an engine serves (`GET /v1/audio/models`). */
export interface SpeechModelInfo {
  id: string;
  kind: "stt" | "tts";
  /** True for the embedded demo-quality engines; their ids contain `offline`. */
  offline: boolean;
  description: string;
}

/** One voice a {@linkcode TextToSpeech} accepts (`GET /v1/audio/voices`). */
export interface VoiceInfo {
  id: string;
  description: string;
  /** BCP 47-ish language tag the voice speaks (`en-us`, `cmn`), when known. */
  language?: string;
  gender?: "male" | "female";
}

// ---------------------------------------------------------------------------
// Speech to text

export interface TranscribeOptions {
  /** Model id; engines serving one model ignore it. */
  model?: string;
  /** ISO-639-1 language of the audio (`en`), when the caller knows it. */
  language?: string;
  /**
   * A hint. OpenAI-compatible engines use it as Whisper's prompt; the offline
   * engine uses it as a recognition grammar when it starts with `#JSGF`.
   */
  prompt?: string;
  /** Ask for segments and the duration (OpenAI's `verbose_json`); engines that always know them ignore it. */
  verbose?: boolean;
  /** Ask for word timings (`Transcript.words`) when the engine can give them. */
  wordTimestamps?: boolean;
  signal?: AbortSignal;
}

export interface TranscriptSegment {
  /** Seconds from the start of the audio. */
  start: number;
  end: number;
  text: string;
}

export interface TranscriptWord {
  word: string;
  start: number;
  end: number;
}

export interface Transcript {
  text: string;
  /** The model that produced it. */
  model: string;
  /** ISO-639-1 code (`en`), when known. */
  language?: string;
  /** Length of the audio in seconds, when known. */
  durationSeconds?: number;
  segments?: TranscriptSegment[];
  words?: TranscriptWord[];
}

/** Events of a streamed transcription: deltas (appended in order make the text), then `done`. */
export type TranscriptEvent =
  | { type: "delta"; text: string }
  | { type: "done"; transcript: Transcript };

export interface SpeechToText {
  /** True for the embedded demo-quality engine. */
  readonly offline: boolean;
  /** The default model id. */
  readonly model: string;
  models(): SpeechModelInfo[];
  /** Whether the engine can run here; checked once, lazily, then cached. */
  status(): Promise<EngineStatus>;
  /** The whole transcript of `audio`. */
  transcribe(audio: AudioInput, options?: TranscribeOptions): Promise<Transcript>;
  /**
   * The transcript as it is recognised; an engine that cannot stream gives
   * its whole text as one delta.
   */
  transcribeStream(audio: AudioInput, options?: TranscribeOptions): AsyncIterable<TranscriptEvent>;
}

// ---------------------------------------------------------------------------
// Text to speech

/** Output formats (OpenAI's names). `pcm`: raw signed 16-bit little-endian mono, no header. */
export const SPEECH_FORMATS = ["mp3", "opus", "aac", "flac", "wav", "pcm"] as const;
export type SpeechFormat = (typeof SPEECH_FORMATS)[number];

/** The `Content-Type` of each output format. */
export const SPEECH_CONTENT_TYPES: Record<SpeechFormat, string> = {
  mp3: "audio/mpeg",
  opus: "audio/ogg",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

/** The sample rate of `pcm` output, as OpenAI's API defines it. */
export const PCM_SAMPLE_RATE = 24_000;

export interface SynthesizeOptions {
  /** A voice id from `voices()`; default: the engine's default voice. */
  voice?: string;
  format: SpeechFormat;
  /** 0.25 to 4, default 1. */
  speed?: number;
  /** Model id; engines serving one model ignore it. */
  model?: string;
  /** Style instructions (OpenAI's `instructions`); engines that cannot use them ignore them. */
  instructions?: string;
  /** Aborting stops the engine at once (child processes are killed) and ends `chunks`. */
  signal?: AbortSignal;
}

/**
 * Speech being made. `chunks` yields the bytes of one file of `format`
 * (for `pcm`: raw samples) as the engine produces them; iterate it to the
 * end, call its `return()`, or abort the signal — each releases the engine.
 */
export interface SynthesizedSpeech {
  format: SpeechFormat;
  /** Samples per second of the audio (for `pcm`, {@linkcode PCM_SAMPLE_RATE}). */
  sampleRate: number;
  contentType: string;
  /** The voice and model actually used. */
  voice: string;
  model: string;
  chunks: AudioChunks;
}

/** Audio bytes as they are made; `return()` stops the engine and releases it. */
export interface AudioChunks extends AsyncIterableIterator<Uint8Array> {
  return(): Promise<IteratorResult<Uint8Array>>;
}

/** What a text-to-speech engine can do here (formats depend on installed converters). */
export interface TtsStatus extends EngineStatus {
  formats: readonly SpeechFormat[];
}

export interface TextToSpeech {
  /** True for the embedded demo-quality engine. */
  readonly offline: boolean;
  /** The default model id. */
  readonly model: string;
  /** The voice used when a request names none. */
  readonly defaultVoice: string;
  models(): SpeechModelInfo[];
  voices(): Promise<VoiceInfo[]>;
  /** Whether the engine can run here, and which formats it makes; checked once, then cached. */
  status(): Promise<TtsStatus>;
  /**
   * Starts synthesising `text`. Resolves once the engine has produced its
   * first bytes (so a failure before any audio rejects here), rejects with a
   * coded `ChatError` otherwise.
   */
  synthesize(text: string, options: SynthesizeOptions): Promise<SynthesizedSpeech>;
}

/** Both directions, as the server wires them (`Services.voice`). */
export interface SpeechEngines {
  stt: SpeechToText;
  tts: TextToSpeech;
}

// ---------------------------------------------------------------------------
// Speech inside a generation

/** One spoken sentence of a reply (field names as in the WebSocket `audio_stream` event). */
export interface SpokenSegment {
  /** 1, 2, 3 … in speaking order. */
  segment: number;
  /** The sentence as spoken (markdown removed). */
  text: string;
  format: SpeechFormat;
  sample_rate: number;
  /** One complete file of `format` (a WAV has its real sizes), or raw samples for `pcm`. */
  audio: Uint8Array;
}

/**
 * Speech as a generation uses it: the reply's text deltas go in, spoken
 * sentences come out in order (the first as soon as the first sentence is
 * complete). `abort()` stops at once, with no stale audio after it.
 */
export interface SpeechStream extends AsyncIterable<SpokenSegment> {
  push(delta: string): void;
  /** The text is complete: the rest is spoken, then the iteration ends. */
  end(): void;
  abort(): void;
  readonly aborted: boolean;
  /** Segments delivered so far. */
  readonly segments: number;
}
