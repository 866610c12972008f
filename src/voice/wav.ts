/**
 * WAV (RIFF/WAVE) headers: parsing with a clear, coded error for every way a
 * file can be wrong, and building headers for the audio yychat makes. Only
 * 16-bit integer PCM is accepted, the encoding every recogniser and browser
 * handles; other encodings are refused with a message naming what was found.
 */
import { ChatError } from "../core/errors.ts";

/** Sample rates accepted on input, in Hz. */
export const MIN_SAMPLE_RATE = 8_000;
export const MAX_SAMPLE_RATE = 96_000;
export const MAX_CHANNELS = 8;

/**
 * The data size written when the length is not known yet (a streamed WAV):
 * the value sox and espeak-ng write to pipes; readers take the samples up
 * to the end of the file.
 */
export const STREAMING_DATA_SIZE = 0x7fff_f000;

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: 16;
  /** Byte offset of the first sample. */
  dataOffset: number;
  /** Bytes of samples present (whole frames only). */
  dataLength: number;
  durationSeconds: number;
}

const FORMAT_NAMES: Record<number, string> = {
  0x0002: "Microsoft ADPCM",
  0x0003: "IEEE float",
  0x0006: "A-law",
  0x0007: "μ-law",
  0x0011: "IMA ADPCM",
  0x0055: "MPEG layer 3",
};

/** The fields of a `fmt ` chunk yychat checks. */
interface FmtChunk {
  format: number;
  channels: number;
  rate: number;
  byteRate: number;
  align: number;
  bits: number;
}

const ascii = (bytes: Uint8Array, at: number) =>
  String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);

/** Whether `bytes` starts like a RIFF/WAVE file. */
export function looksLikeWav(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && ascii(bytes, 0) === "RIFF" && ascii(bytes, 8) === "WAVE";
}

/**
 * Parses and validates a WAV file's header.
 *
 * @throws {ChatError} `invalid_audio` (not WAV, truncated, inconsistent header),
 *   `unsupported_audio_format` (not 16-bit PCM, too many channels),
 *   `unsupported_sample_rate`, `empty_audio` (no samples)
 */
export function parseWav(bytes: Uint8Array): WavInfo {
  if (bytes.length >= 4 && ascii(bytes, 0) === "RIFX") {
    throw new ChatError(
      "unsupported_audio_format",
      "Big-endian WAV (RIFX) is not accepted: send little-endian 16-bit PCM WAV",
    );
  }
  if (!looksLikeWav(bytes)) {
    throw new ChatError("invalid_audio", "The audio is not a WAV file (no RIFF/WAVE header)");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: FmtChunk | undefined;
  let at = 12;
  while (at + 8 <= bytes.length) {
    const id = ascii(bytes, at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) {
        throw new ChatError(
          "invalid_audio",
          "The WAV file is truncated: its fmt chunk is cut short",
        );
      }
      let format = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID.
      if (format === 0xfffe && size >= 40 && body + 26 <= bytes.length) {
        format = view.getUint16(body + 24, true);
      }
      fmt = {
        format,
        channels: view.getUint16(body + 2, true),
        rate: view.getUint32(body + 4, true),
        byteRate: view.getUint32(body + 8, true),
        align: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (fmt === undefined) {
        throw new ChatError(
          "invalid_audio",
          "The WAV file has its data chunk before its fmt chunk",
        );
      }
      checkFormat(fmt);
      const present = bytes.length - body;
      // A streamed WAV declares a placeholder size (or 0): its samples run to the end.
      const open = size === 0 || size === 0xffff_ffff || size === STREAMING_DATA_SIZE;
      if (!open && size > present) {
        throw new ChatError(
          "invalid_audio",
          `The WAV file is truncated: its header declares ${size} bytes of samples, ${present} are present`,
        );
      }
      const raw = open ? present : size;
      const dataLength = raw - (raw % fmt.align);
      if (dataLength === 0) throw new ChatError("empty_audio", "The WAV file holds no samples");
      return {
        sampleRate: fmt.rate,
        channels: fmt.channels,
        bitsPerSample: 16,
        dataOffset: body,
        dataLength,
        durationSeconds: dataLength / fmt.byteRate,
      };
    }
    at = body + size + (size % 2);
  }
  throw new ChatError(
    "invalid_audio",
    fmt === undefined
      ? "The WAV file is truncated: it has no fmt chunk"
      : "The WAV file is truncated: it has no data chunk",
  );
}

function checkFormat(f: FmtChunk): void {
  if (f.format !== 1 || f.bits !== 16) {
    const what = f.format === 1
      ? `${f.bits}-bit PCM`
      : `${f.bits}-bit ${
        FORMAT_NAMES[f.format] ?? `format 0x${f.format.toString(16).padStart(4, "0")}`
      }`;
    throw new ChatError(
      "unsupported_audio_format",
      `Only 16-bit PCM WAV is accepted (this file is ${what})`,
    );
  }
  if (f.channels < 1 || f.channels > MAX_CHANNELS) {
    throw new ChatError(
      f.channels < 1 ? "invalid_audio" : "unsupported_audio_format",
      `The WAV file has ${f.channels} channels: 1 to ${MAX_CHANNELS} are accepted`,
    );
  }
  checkSampleRate(f.rate);
  if (f.align !== f.channels * 2 || f.byteRate !== f.rate * f.align) {
    throw new ChatError(
      "invalid_audio",
      `The WAV header is inconsistent: ${f.rate} Hz × ${f.channels} channels × 2 bytes ` +
        `needs a block align of ${f.channels * 2} and a byte rate of ${f.rate * f.channels * 2} ` +
        `(the header says ${f.align} and ${f.byteRate})`,
    );
  }
}

/**
 * @throws {ChatError} `unsupported_sample_rate` outside
 *   {@linkcode MIN_SAMPLE_RATE}–{@linkcode MAX_SAMPLE_RATE} or not an integer
 */
export function checkSampleRate(rate: number): void {
  if (!Number.isInteger(rate) || rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new ChatError(
      "unsupported_sample_rate",
      `Sample rate ${rate} Hz is not accepted: use ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz`,
    );
  }
}

/**
 * A 44-byte header for 16-bit PCM. Without `dataBytes` the sizes are the
 * streaming placeholder ({@linkcode STREAMING_DATA_SIZE}).
 */
export function wavHeader(
  options: { sampleRate: number; channels?: number; dataBytes?: number },
): Uint8Array<ArrayBuffer> {
  const channels = options.channels ?? 1;
  const data = options.dataBytes ?? STREAMING_DATA_SIZE;
  const header = new Uint8Array(44);
  const view = new DataView(header.buffer);
  const text = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) header[at + i] = s.charCodeAt(i);
  };
  text(0, "RIFF");
  view.setUint32(4, data + 36, true);
  text(8, "WAVE");
  text(12, "fmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, channels, true);
  view.setUint32(24, options.sampleRate, true);
  view.setUint32(28, options.sampleRate * channels * 2, true);
  view.setUint16(32, channels * 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, data, true);
  return header;
}

/** Raw 16-bit PCM wrapped in a complete WAV file. */
export function pcmToWav(
  pcm: Uint8Array,
  sampleRate: number,
  channels = 1,
): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(44 + pcm.length);
  out.set(wavHeader({ sampleRate, channels, dataBytes: pcm.length }), 0);
  out.set(pcm, 44);
  return out;
}

/**
 * Writes the real sizes into a complete WAV file whose header carries the
 * streaming placeholders (what espeak-ng and sox write to pipes), in place.
 * Returns `wav` unchanged when it is not a WAV with a data chunk.
 */
export function fixWavSizes(wav: Uint8Array): Uint8Array {
  if (!looksLikeWav(wav)) return wav;
  const view = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let at = 12;
  while (at + 8 <= wav.length) {
    const size = view.getUint32(at + 4, true);
    if (ascii(wav, at) === "data") {
      view.setUint32(4, wav.length - 8, true);
      view.setUint32(at + 4, wav.length - at - 8, true);
      return wav;
    }
    at += 8 + size + (size % 2);
  }
  return wav;
}

/** The sample rate in a WAV header, or undefined when `bytes` does not start one. */
export function wavSampleRate(bytes: Uint8Array): number | undefined {
  if (!looksLikeWav(bytes) || bytes.length < 28 || ascii(bytes, 12) !== "fmt ") return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(24, true);
}
