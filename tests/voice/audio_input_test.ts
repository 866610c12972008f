import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import {
  decodeBase64Audio,
  sniffContainer,
  validateAudioFile,
} from "../../src/voice/audio_input.ts";
import { pcmToWav } from "../../src/voice/wav.ts";

const MAX = 64 * 1024;
const b64 = (bytes: Uint8Array) => bytes.toBase64();

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ChatError, `expected a ChatError, got ${err}`);
    return err.code;
  }
  throw new Error("expected a failure");
}

Deno.test("sniffContainer() recognises audio containers by their magic bytes", async (t) => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases: [string, Uint8Array, string | undefined][] = [
    ["wav", pcmToWav(new Uint8Array(4), 16000), "wav"],
    ["flac", enc("fLaC\0\0\0\x22"), "flac"],
    ["ogg", enc("OggS\0\x02"), "ogg"],
    ["mp3 with ID3", enc("ID3\x04\0\0\0\0\0\0"), "mp3"],
    ["mp3 frame", new Uint8Array([0xff, 0xfb, 0x90, 0x64]), "mp3"],
    ["webm", new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 0x9f]), "webm"],
    ["mp4/m4a", enc("\0\0\0\x20ftypM4A "), "mp4"],
    ["text", enc("hello world"), undefined],
    ["JSON", enc('{"audio": 1}'), undefined],
  ];
  for (const [name, bytes, expected] of cases) {
    await t.step(name, () => assert.equal(sniffContainer(bytes), expected));
  }
});

Deno.test("validateAudioFile() checks uploads", async (t) => {
  await t.step("a WAV gets its header's facts", () => {
    const audio = validateAudioFile(pcmToWav(new Uint8Array(16000), 8000), { maxBytes: MAX });
    assert.equal(audio.container, "wav");
    assert.equal(audio.sampleRate, 8000);
    assert.equal(audio.durationSeconds, 1);
    assert.deepEqual(audio.pcm, { offset: 44, length: 16000 });
  });
  await t.step("other containers pass to the engine as they are", () => {
    const bytes = new Uint8Array([0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0]);
    assert.equal(validateAudioFile(bytes, { maxBytes: MAX }).container, "mp3");
  });
  const cases: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "empty_audio"],
    ["not audio", new TextEncoder().encode("%PDF-1.7 not audio"), "invalid_audio"],
    ["over the limit", pcmToWav(new Uint8Array(MAX), 16000), "audio_too_large"],
    ["truncated WAV", pcmToWav(new Uint8Array(1000), 16000).subarray(0, 600), "invalid_audio"],
  ];
  for (const [name, bytes, code] of cases) {
    await t.step(
      name,
      () => assert.equal(codeOf(() => validateAudioFile(bytes, { maxBytes: MAX })), code),
    );
  }
});

Deno.test("decodeBase64Audio() decodes the WebSocket audio_input fields", async (t) => {
  const pcm = new Uint8Array(3200).map((_, i) => i % 251);
  await t.step("pcm16 with a sample rate", () => {
    const audio = decodeBase64Audio(
      { audio_base64: b64(pcm), format: "pcm16", sample_rate: 16000 },
      {
        maxBytes: MAX,
      },
    );
    assert.equal(audio.container, "pcm16");
    assert.equal(audio.durationSeconds, 0.1);
    assert.deepEqual(audio.data, pcm);
  });
  await t.step("pcm16 defaults to 16 kHz mono", () => {
    const audio = decodeBase64Audio({ audio_base64: b64(pcm), format: "pcm16" }, { maxBytes: MAX });
    assert.equal(audio.sampleRate, 16000);
    assert.equal(audio.channels, 1);
  });
  await t.step("a data: URL prefix is stripped", () => {
    const file = pcmToWav(pcm, 24000);
    const audio = decodeBase64Audio({
      audio_base64: `data:audio/wav;base64,${b64(file)}`,
      format: "wav",
    }, { maxBytes: MAX });
    assert.equal(audio.sampleRate, 24000);
    assert.deepEqual(audio.data, file);
  });
  const cases: [string, Parameters<typeof decodeBase64Audio>[0], string][] = [
    ["not base64", { audio_base64: "this is *not* base64!", format: "pcm16" }, "invalid_audio"],
    ["empty", { audio_base64: "", format: "pcm16" }, "empty_audio"],
    [
      "odd pcm16 length",
      { audio_base64: b64(new Uint8Array(3)), format: "pcm16" },
      "invalid_audio",
    ],
    ["stereo pcm16 not in whole frames", {
      audio_base64: b64(new Uint8Array(6)),
      format: "pcm16",
      channels: 2,
    }, "invalid_audio"],
    [
      "pcm16 at 1 kHz",
      { audio_base64: b64(pcm), format: "pcm16", sample_rate: 1000 },
      "unsupported_sample_rate",
    ],
    ["pcm16 at a fractional rate", {
      audio_base64: b64(pcm),
      format: "pcm16",
      sample_rate: 16000.5,
    }, "unsupported_sample_rate"],
    ["a WAV sent as pcm16", {
      audio_base64: b64(pcmToWav(pcm, 16000)),
      format: "pcm16",
    }, "invalid_audio"],
    ["raw bytes sent as wav", { audio_base64: b64(pcm), format: "wav" }, "invalid_audio"],
    ["an mp3 sent as wav", {
      audio_base64: b64(new Uint8Array([0xff, 0xfb, 0x90, 0x64, 1, 2])),
      format: "wav",
    }, "unsupported_audio_format"],
    ["truncated WAV", {
      audio_base64: b64(pcmToWav(pcm, 16000).subarray(0, 1000)),
      format: "wav",
    }, "invalid_audio"],
  ];
  for (const [name, fields, code] of cases) {
    await t.step(
      name,
      () => assert.equal(codeOf(() => decodeBase64Audio(fields, { maxBytes: MAX })), code),
    );
  }
  await t.step("too large is refused before decoding", () => {
    // Not valid base64 either: only the size check can have refused it.
    const huge = "!".repeat(MAX * 2);
    assert.equal(
      codeOf(() => decodeBase64Audio({ audio_base64: huge, format: "pcm16" }, { maxBytes: MAX })),
      "audio_too_large",
    );
  });
});
