import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import {
  fixWavSizes,
  parseWav,
  pcmToWav,
  STREAMING_DATA_SIZE,
  wavHeader,
  wavSampleRate,
} from "../../src/voice/wav.ts";

/** A WAV whose fmt fields can be set one by one. */
function wav(
  fmt: Partial<
    {
      format: number;
      channels: number;
      rate: number;
      bits: number;
      byteRate: number;
      align: number;
    }
  >,
  data = new Uint8Array(320),
  declared?: number,
): Uint8Array {
  const channels = fmt.channels ?? 1;
  const rate = fmt.rate ?? 16000;
  const bits = fmt.bits ?? 16;
  const align = fmt.align ?? channels * (bits / 8);
  const out = new Uint8Array(44 + data.length);
  const v = new DataView(out.buffer);
  out.set(new TextEncoder().encode("RIFF"), 0);
  v.setUint32(4, 36 + data.length, true);
  out.set(new TextEncoder().encode("WAVEfmt "), 8);
  v.setUint32(16, 16, true);
  v.setUint16(20, fmt.format ?? 1, true);
  v.setUint16(22, channels, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, fmt.byteRate ?? rate * align, true);
  v.setUint16(32, align, true);
  v.setUint16(34, bits, true);
  out.set(new TextEncoder().encode("data"), 36);
  v.setUint32(40, declared ?? data.length, true);
  out.set(data, 44);
  return out;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ChatError, `expected a ChatError, got ${err}`);
    return err.code;
  }
  throw new Error("expected a failure");
}

Deno.test("parseWav() reads 16-bit PCM headers", async (t) => {
  await t.step("mono 16 kHz", () => {
    const info = parseWav(pcmToWav(new Uint8Array(32000), 16000));
    assert.deepEqual(info, {
      sampleRate: 16000,
      channels: 1,
      bitsPerSample: 16,
      dataOffset: 44,
      dataLength: 32000,
      durationSeconds: 1,
    });
  });
  await t.step("stereo 48 kHz", () => {
    const info = parseWav(pcmToWav(new Uint8Array(19200), 48000, 2));
    assert.equal(info.channels, 2);
    assert.equal(info.durationSeconds, 0.1);
  });
  await t.step("a streamed WAV (placeholder size) runs to the end of the file", () => {
    const header = wavHeader({ sampleRate: 22050 });
    const file = new Uint8Array(44 + 4410);
    file.set(header);
    assert.equal(new DataView(header.buffer).getUint32(40, true), STREAMING_DATA_SIZE);
    assert.equal(parseWav(file).dataLength, 4410);
  });
  await t.step("chunks before data (LIST) are skipped", () => {
    const base = pcmToWav(new Uint8Array(100), 16000);
    const list = new Uint8Array([
      ...new TextEncoder().encode("LIST"),
      5,
      0,
      0,
      0,
      1,
      2,
      3,
      4,
      5,
      0,
    ]);
    const file = new Uint8Array([...base.subarray(0, 36), ...list, ...base.subarray(36)]);
    assert.equal(parseWav(file).dataOffset, 36 + list.length + 8);
  });
  await t.step("WAVE_FORMAT_EXTENSIBLE with PCM", () => {
    const base = wav({ format: 0xfffe });
    // A 40-byte fmt chunk whose sub-format GUID starts with 0x0001 (PCM).
    const fmt = new Uint8Array(48);
    const v = new DataView(fmt.buffer);
    fmt.set(base.subarray(12, 36));
    v.setUint32(4, 40, true);
    v.setUint16(8 + 16, 22, true);
    v.setUint16(8 + 24, 1, true);
    const file = new Uint8Array([...base.subarray(0, 12), ...fmt, ...base.subarray(36)]);
    assert.equal(parseWav(file).sampleRate, 16000);
  });
  await t.step("a trailing half frame is ignored", () => {
    assert.equal(parseWav(wav({ channels: 2 }, new Uint8Array(10))).dataLength, 8);
  });
});

Deno.test("parseWav() refuses bad files with a stable code", async (t) => {
  const cases: [string, Uint8Array, string][] = [
    ["not a WAV", new TextEncoder().encode("hello, this is not audio at all"), "invalid_audio"],
    ["big-endian RIFX", new TextEncoder().encode("RIFX....WAVEfmt "), "unsupported_audio_format"],
    ["truncated header", pcmToWav(new Uint8Array(100), 16000).subarray(0, 30), "invalid_audio"],
    ["truncated data", pcmToWav(new Uint8Array(1000), 16000).subarray(0, 500), "invalid_audio"],
    ["no data chunk", pcmToWav(new Uint8Array(0), 16000).subarray(0, 36), "invalid_audio"],
    ["no samples", pcmToWav(new Uint8Array(0), 16000), "empty_audio"],
    ["8-bit PCM", wav({ bits: 8 }), "unsupported_audio_format"],
    ["32-bit float", wav({ format: 3, bits: 32 }), "unsupported_audio_format"],
    ["μ-law", wav({ format: 7, bits: 8 }), "unsupported_audio_format"],
    ["zero channels", wav({ channels: 0, align: 2 }), "invalid_audio"],
    ["9 channels", wav({ channels: 9 }), "unsupported_audio_format"],
    ["sample rate 0", wav({ rate: 0 }), "unsupported_sample_rate"],
    ["sample rate 4 kHz", wav({ rate: 4000 }), "unsupported_sample_rate"],
    ["sample rate 192 kHz", wav({ rate: 192000 }), "unsupported_sample_rate"],
    ["byte rate disagrees with the sample rate", wav({ byteRate: 12345 }), "invalid_audio"],
  ];
  for (const [name, bytes, code] of cases) {
    await t.step(name, () => assert.equal(codeOf(() => parseWav(bytes)), code));
  }
  await t.step("the message says what was found", () => {
    assert.throws(() => parseWav(wav({ format: 3, bits: 32 })), /32-bit IEEE float/);
    assert.throws(
      () => parseWav(pcmToWav(new Uint8Array(1000), 16000).subarray(0, 500)),
      /declares 1000 bytes/,
    );
  });
});

Deno.test("fixWavSizes() writes the real sizes into a streamed WAV", () => {
  const file = new Uint8Array(44 + 100);
  file.set(wavHeader({ sampleRate: 22050 }));
  fixWavSizes(file);
  const v = new DataView(file.buffer);
  assert.equal(v.getUint32(4, true), 136);
  assert.equal(v.getUint32(40, true), 100);
  assert.equal(wavSampleRate(file), 22050);
  assert.equal(parseWav(file).dataLength, 100);
});
