/**
 * Text to speech through any OpenAI-compatible `POST /v1/audio/speech`
 * (OpenAI, speaches, Kokoro-FastAPI, LocalAI): the upstream's audio body is
 * passed on as it arrives. The upstream decides which voices, models and
 * formats it takes; its refusals come back as `upstream_error` with its
 * message.
 */
import { ChatError } from "../core/errors.ts";
import {
  PCM_SAMPLE_RATE,
  SPEECH_CONTENT_TYPES,
  SPEECH_FORMATS,
  type SpeechModelInfo,
  type SynthesizedSpeech,
  type SynthesizeOptions,
  type TextToSpeech,
  type TtsStatus,
  type VoiceInfo,
} from "../core/speech.ts";
import { ByteStream } from "./byte_stream.ts";
import {
  authHeaders,
  endpoint,
  type HttpSpeechOptions,
  requestScope,
  upstreamError,
} from "./openai_http.ts";
import { wavSampleRate } from "./wav.ts";

/** OpenAI's built-in voice names (other servers map or refuse them). */
export const OPENAI_VOICE_NAMES = [
  "alloy",
  "ash",
  "ballad",
  "cedar",
  "coral",
  "echo",
  "fable",
  "marin",
  "nova",
  "onyx",
  "sage",
  "shimmer",
  "verse",
] as const;

/** See the module doc. */
export class OpenAICompatibleTts implements TextToSpeech {
  readonly offline = false;
  readonly model: string;
  readonly defaultVoice: string;
  readonly #options: HttpSpeechOptions;
  readonly #fetch: typeof fetch;

  constructor(options: HttpSpeechOptions & { voice: string }) {
    this.#options = options;
    this.model = options.model;
    this.defaultVoice = options.voice;
    this.#fetch = options.fetch ?? fetch;
  }

  models(): SpeechModelInfo[] {
    return [{
      id: this.model,
      kind: "tts",
      offline: false,
      description: `Text to speech by the OpenAI-compatible server at ${
        new URL(this.#options.baseUrl).host
      }`,
    }];
  }

  voices(): Promise<VoiceInfo[]> {
    const names = new Set<string>([this.defaultVoice, ...OPENAI_VOICE_NAMES]);
    return Promise.resolve([...names].map((id) => ({
      id,
      description: id === this.defaultVoice
        ? "The configured voice (TTS_VOICE); the upstream server decides which voices exist"
        : "OpenAI voice name (passed to the upstream server)",
    })));
  }

  status(): Promise<TtsStatus> {
    return Promise.resolve({ available: true, formats: SPEECH_FORMATS });
  }

  async synthesize(text: string, options: SynthesizeOptions): Promise<SynthesizedSpeech> {
    const { apiKey, timeoutMs } = this.#options;
    // `timeoutMs` bounds the wait for the answer, then each read of its body (ByteStream).
    const call = requestScope(this.#options, options.signal);
    const voice = options.voice ?? this.defaultVoice;
    const model = options.model ?? this.model;
    let res: Response;
    try {
      res = await this.#fetch(endpoint(this.#options.baseUrl, "/audio/speech"), {
        method: "POST",
        headers: {
          ...authHeaders(apiKey),
          "content-type": "application/json",
          accept: "application/octet-stream",
        },
        body: JSON.stringify({
          model,
          input: text,
          voice,
          response_format: options.format,
          ...(options.speed !== undefined ? { speed: options.speed } : {}),
          ...(options.instructions ? { instructions: options.instructions } : {}),
        }),
        signal: call.signal,
      });
    } catch (err) {
      throw call.fail(err);
    } finally {
      call.stopTimer();
    }
    if (!res.ok) throw await upstreamError(res, apiKey);
    if (!res.body) throw new ChatError("upstream_error", "The speech server sent no audio");

    const chunks = new ByteStream({
      source: res.body,
      idleTimeoutMs: timeoutMs,
      signal: options.signal,
      timeoutError: () =>
        new ChatError("upstream_timeout", `The speech server sent nothing for ${timeoutMs} ms`),
      readError: (err) => call.fail(err),
      finish: () => Promise.resolve(),
      release: () => {
        call.end();
        return Promise.resolve();
      },
    });
    await chunks.start();
    return {
      format: options.format,
      sampleRate: sampleRateOf(options.format, chunks.first),
      contentType: SPEECH_CONTENT_TYPES[options.format],
      voice,
      model,
      chunks,
    };
  }
}

/**
 * The sample rate of the upstream's audio, read from its first bytes where
 * the format says it (WAV, MP3); OpenAI's rate otherwise.
 */
function sampleRateOf(format: string, first: Uint8Array | undefined): number {
  if (first === undefined) return PCM_SAMPLE_RATE;
  if (format === "wav") return wavSampleRate(first) ?? PCM_SAMPLE_RATE;
  if (format === "mp3") return mp3SampleRate(first) ?? PCM_SAMPLE_RATE;
  if (format === "opus") return 48_000;
  return PCM_SAMPLE_RATE;
}

const MP3_RATES: Record<number, readonly number[]> = {
  0b11: [44_100, 48_000, 32_000], // MPEG 1
  0b10: [22_050, 24_000, 16_000], // MPEG 2
  0b00: [11_025, 12_000, 8_000], // MPEG 2.5
};

/** The sample rate of the first MPEG audio frame (after an ID3v2 tag). */
export function mp3SampleRate(bytes: Uint8Array): number | undefined {
  let at = 0;
  if (bytes.length >= 10 && bytes[0] === 0x49 && bytes[1] === 0x44 && bytes[2] === 0x33) {
    const size = (bytes[6]! << 21) | (bytes[7]! << 14) | (bytes[8]! << 7) | bytes[9]!;
    at = 10 + size;
  }
  const end = Math.min(bytes.length - 3, at + 4096);
  for (; at < end; at++) {
    if (bytes[at] !== 0xff || (bytes[at + 1]! & 0xe0) !== 0xe0) continue;
    const version = (bytes[at + 1]! >> 3) & 0b11;
    const index = (bytes[at + 2]! >> 2) & 0b11;
    const rate = MP3_RATES[version]?.[index];
    if (rate !== undefined) return rate;
  }
  return undefined;
}
