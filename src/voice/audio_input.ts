/**
 * Audio input validation, shared by the REST upload (`POST
 * /v1/audio/transcriptions`) and the WebSocket `audio_input` message: size
 * bounded before anything is decoded, the container recognised by its
 * magic bytes, WAV headers parsed and checked, raw `pcm16` given a sample
 * rate. Every refusal is a `ChatError` with a stable code the client can act
 * on.
 */
import { ChatError } from "../core/errors.ts";
import { errorMessage } from "../core/spawn.ts";
import type { AudioContainer, AudioInput } from "../core/speech.ts";
import { checkSampleRate, looksLikeWav, MAX_CHANNELS, parseWav } from "./wav.ts";

/** `STT_MAX_AUDIO_BYTES`' default: OpenAI's upload limit. */
export const DEFAULT_MAX_AUDIO_BYTES = 25 * 1024 * 1024;

/** Sample rate of `pcm16` input when the client gives none. */
export const DEFAULT_PCM16_SAMPLE_RATE = 16_000;

/** The container `bytes` start with, by magic bytes; undefined when none is recognised. */
export function sniffContainer(bytes: Uint8Array): Exclude<AudioContainer, "pcm16"> | undefined {
  const at = (i: number, s: string) => {
    if (bytes.length < i + s.length) return false;
    for (let k = 0; k < s.length; k++) if (bytes[i + k] !== s.charCodeAt(k)) return false;
    return true;
  };
  if (looksLikeWav(bytes)) return "wav";
  if (at(0, "fLaC")) return "flac";
  if (at(0, "OggS")) return "ogg";
  if (at(0, "ID3")) return "mp3";
  // An MPEG audio frame: 11 sync bits, a valid version and layer.
  if (bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0) {
    const version = (bytes[1]! >> 3) & 0b11;
    const layer = (bytes[1]! >> 1) & 0b11;
    if (version !== 0b01 && layer !== 0b00) return "mp3";
  }
  if (at(0, "\x1a\x45\xdf\xa3")) return "webm";
  if (at(4, "ftyp")) return "mp4";
  return undefined;
}

function tooLarge(bytes: number, maxBytes: number): ChatError {
  return new ChatError(
    "audio_too_large",
    `The audio is ${bytes} bytes: the limit is ${maxBytes} bytes (STT_MAX_AUDIO_BYTES)`,
  );
}

/**
 * Validates an uploaded audio file (any container the engines may read;
 * which ones an engine accepts is the engine's decision).
 *
 * @throws {ChatError} `empty_audio`, `audio_too_large`, `invalid_audio`
 *   (not audio, truncated WAV), `unsupported_audio_format`, `unsupported_sample_rate`
 */
export function validateAudioFile(bytes: Uint8Array, options: { maxBytes: number }): AudioInput {
  if (bytes.length === 0) throw new ChatError("empty_audio", "The audio file is empty");
  if (bytes.length > options.maxBytes) throw tooLarge(bytes.length, options.maxBytes);
  const container = sniffContainer(bytes);
  if (container === undefined) {
    throw new ChatError(
      "invalid_audio",
      "The file is not audio: no WAV, MP3, FLAC, Ogg, WebM or MP4 header was found",
    );
  }
  if (container !== "wav") return { data: bytes, container };
  const wav = parseWav(bytes);
  return {
    data: bytes,
    container,
    sampleRate: wav.sampleRate,
    channels: wav.channels,
    durationSeconds: wav.durationSeconds,
    pcm: { offset: wav.dataOffset, length: wav.dataLength },
  };
}

/** The audio fields of a WebSocket `audio_input` message. */
export interface Base64AudioFields {
  audio_base64: string;
  format: "wav" | "pcm16";
  /** Required meaning for `pcm16` (default {@linkcode DEFAULT_PCM16_SAMPLE_RATE}); a WAV's header wins. */
  sample_rate?: number;
  /** `pcm16` only: interleaved channels, default 1. */
  channels?: number;
}

const DATA_URL = /^data:[^,]{0,200},/;

/**
 * Decodes and validates base64 audio as the WebSocket `audio_input` sends
 * it: a `data:…;base64,` prefix is stripped, the decoded size is checked
 * against `maxBytes` before decoding (so a huge string is never decoded),
 * then the WAV header or the `pcm16` parameters are checked.
 *
 * @throws {ChatError} `audio_too_large`, `invalid_audio` (bad base64, not a
 *   WAV, odd `pcm16` length), `empty_audio`, `unsupported_audio_format`,
 *   `unsupported_sample_rate`
 */
export function decodeBase64Audio(
  fields: Base64AudioFields,
  options: { maxBytes: number },
): AudioInput {
  let text = fields.audio_base64;
  const prefix = DATA_URL.exec(text.slice(0, 256));
  if (prefix) text = text.slice(prefix[0].length);
  // Four base64 characters carry three bytes; whitespace and padding only make it smaller.
  const upperBound = Math.floor(text.length / 4) * 3 + 3;
  if (upperBound > options.maxBytes) {
    const estimate = Math.floor((text.replace(/[\s=]/g, "").length * 3) / 4);
    if (estimate > options.maxBytes) throw tooLarge(estimate, options.maxBytes);
  }
  let bytes: Uint8Array;
  try {
    bytes = Uint8Array.fromBase64(text.trim());
  } catch (err) {
    throw new ChatError(
      "invalid_audio",
      `"audio_base64" is not valid base64: ${errorMessage(err)}`,
    );
  }
  if (bytes.length === 0) throw new ChatError("empty_audio", `"audio_base64" holds no audio`);
  if (bytes.length > options.maxBytes) throw tooLarge(bytes.length, options.maxBytes);

  if (fields.format === "wav") {
    if (!looksLikeWav(bytes)) {
      const found = sniffContainer(bytes);
      throw new ChatError(
        found ? "unsupported_audio_format" : "invalid_audio",
        found
          ? `"format" is "wav" but the audio is ${found}: send a 16-bit PCM WAV or raw pcm16`
          : `"format" is "wav" but the audio is not a WAV file (no RIFF/WAVE header)`,
      );
    }
    return validateAudioFile(bytes, options);
  }
  if (looksLikeWav(bytes)) {
    throw new ChatError(
      "invalid_audio",
      `"format" is "pcm16" but the audio is a WAV file: send it with "format": "wav"`,
    );
  }
  const sampleRate = fields.sample_rate ?? DEFAULT_PCM16_SAMPLE_RATE;
  checkSampleRate(sampleRate);
  const channels = fields.channels ?? 1;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_CHANNELS) {
    throw new ChatError(
      "unsupported_audio_format",
      `pcm16 audio may have 1 to ${MAX_CHANNELS} channels (got ${channels})`,
    );
  }
  const frame = 2 * channels;
  if (bytes.length % frame !== 0) {
    throw new ChatError(
      "invalid_audio",
      `pcm16 audio must be whole 16-bit frames: ${bytes.length} bytes is not a multiple of ${frame}`,
    );
  }
  return {
    data: bytes,
    container: "pcm16",
    sampleRate,
    channels,
    durationSeconds: bytes.length / (sampleRate * frame),
    pcm: { offset: 0, length: bytes.length },
  };
}
