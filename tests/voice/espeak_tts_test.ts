import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import type { SpeechFormat } from "../../src/core/speech.ts";
import { ESPEAK_MODEL_ID, EspeakTts } from "../../src/voice/espeak_tts.ts";
import { concatBytes } from "../../src/voice/process.ts";
import { fixWavSizes, parseWav } from "../../src/voice/wav.ts";
import { hasVoiceEngines, soxInfo, warnIfMissing } from "../helpers/voice_engines.ts";

warnIfMissing("tests/voice/espeak_tts_test.ts");

const tts = new EspeakTts({ idleTimeoutMs: 10_000 });

async function say(
  text: string,
  format: SpeechFormat,
  extra: { voice?: string; speed?: number } = {},
) {
  const speech = await tts.synthesize(text, { format, ...extra });
  const parts: Uint8Array[] = [];
  for await (const c of speech.chunks) parts.push(c);
  return { speech, bytes: concatBytes(parts) };
}

const isCode = (code: string) => (err: unknown) => err instanceof ChatError && err.code === code;

Deno.test({
  name: "EspeakTts makes WAV, MP3, FLAC and raw PCM that sox reads",
  ignore: !hasVoiceEngines,
  async fn(t) {
    const text = "The quick brown fox jumps over the lazy dog.";
    const { bytes: wav, speech } = await say(text, "wav");
    assert.equal(speech.model, ESPEAK_MODEL_ID);
    assert.equal(speech.contentType, "audio/wav");
    const wavInfo = await soxInfo(wav, "wav");
    assert.deepEqual([wavInfo.rate, wavInfo.channels], [22050, 1]);
    assert.ok(wavInfo.seconds > 1.5 && wavInfo.seconds < 5, `${wavInfo.seconds} s of speech`);
    assert.equal(parseWav(fixWavSizes(wav)).sampleRate, 22050);

    for (const format of ["mp3", "flac"] as const) {
      await t.step(format, async () => {
        const { bytes } = await say(text, format);
        const info = await soxInfo(bytes, format);
        assert.equal(info.rate, 22050);
        assert.ok(
          Math.abs(info.seconds - wavInfo.seconds) < 0.2,
          `${info.seconds} vs ${wavInfo.seconds}`,
        );
      });
    }
    await t.step("pcm: 24 kHz 16-bit mono, OpenAI's pcm", async () => {
      const { bytes, speech } = await say(text, "pcm");
      assert.equal(speech.sampleRate, 24000);
      assert.equal(bytes.length % 2, 0);
      const seconds = bytes.length / 48000;
      assert.ok(Math.abs(seconds - wavInfo.seconds) < 0.1, `${seconds} vs ${wavInfo.seconds}`);
    });
  },
});

Deno.test({
  name: "EspeakTts voices: languages, variants, OpenAI names, CJK text",
  ignore: !hasVoiceEngines,
  async fn(t) {
    const voices = await tts.voices();
    const ids = voices.map((v) => v.id);
    for (const id of ["en-us", "cmn", "yue", "de", "alloy", "shimmer"]) {
      assert.ok(ids.includes(id), id);
    }
    await t.step("the default voice speaks Chinese text in Mandarin", async () => {
      assert.equal((await say("你好，世界。", "wav")).speech.voice, "cmn");
      assert.equal((await say("Hello.", "wav")).speech.voice, "en-us");
    });
    await t.step("OpenAI names are English variants, and follow CJK text", async () => {
      assert.equal((await say("Hello.", "wav", { voice: "shimmer" })).speech.voice, "en-us+f5");
      assert.equal((await say("你好。", "wav", { voice: "nova" })).speech.voice, "cmn+f3");
    });
    await t.step("an explicit voice is honoured", async () => {
      assert.equal((await say("你好。", "wav", { voice: "en-US+F2" })).speech.voice, "en-us+f2");
      assert.equal((await say("Guten Tag.", "wav", { voice: "de" })).speech.voice, "de");
    });
    await t.step("unknown voices are refused", async () => {
      for (const voice of ["klingon", "en-us+nosuchvariant", "en-us+f2+f3", "-v"]) {
        await assert.rejects(
          tts.synthesize("Hi.", { format: "wav", voice }),
          isCode("voice_not_found"),
          voice,
        );
      }
    });
  },
});

Deno.test({
  name: "EspeakTts speed: 2 is about twice as fast, 0.25 (beyond espeak-ng) uses sox tempo",
  ignore: !hasVoiceEngines,
  async fn() {
    const text = "One two three four five six seven eight nine ten.";
    const seconds = async (speed: number) =>
      (await soxInfo((await say(text, "wav", { speed })).bytes, "wav")).seconds;
    const normal = await seconds(1);
    const fast = await seconds(2);
    const slow = await seconds(0.25);
    assert.ok(fast / normal < 0.7, `speed 2: ${fast} s vs ${normal} s`);
    assert.ok(slow / normal > 2.5, `speed 0.25: ${slow} s vs ${normal} s`);
  },
});

Deno.test({
  name: "EspeakTts reads text as text: a leading dash is not an option",
  ignore: !hasVoiceEngines,
  async fn() {
    const { bytes } = await say("--help -v xx: this is spoken.", "wav");
    assert.ok((await soxInfo(bytes, "wav")).seconds > 1);
  },
});

Deno.test({
  name: "EspeakTts refuses formats it cannot make",
  ignore: !hasVoiceEngines,
  async fn() {
    assert.deepEqual((await tts.status()).formats, ["wav", "pcm", "mp3", "flac"]);
    for (const format of ["opus", "aac"] as const) {
      await assert.rejects(
        tts.synthesize("Hi.", { format }),
        isCode("unsupported_response_format"),
      );
    }
  },
});

Deno.test({
  name: "EspeakTts stops at once when aborted mid-speech",
  ignore: !hasVoiceEngines,
  async fn() {
    const ac = new AbortController();
    const speech = await tts.synthesize("This goes on and on. ".repeat(200), {
      format: "mp3",
      signal: ac.signal,
    });
    const first = await speech.chunks.next();
    assert.equal(first.done, false);
    ac.abort();
    await assert.rejects(async () => {
      for await (const _ of speech.chunks) { /* drain */ }
    }, isCode("cancelled"));
  },
});

Deno.test("EspeakTts without espeak-ng says so (audio_engine_unavailable)", async () => {
  const missing = new EspeakTts({ espeakCommand: "/nonexistent/espeak-ng", idleTimeoutMs: 1000 });
  const status = await missing.status();
  assert.equal(status.available, false);
  assert.match(status.reason!, /apt-get install espeak-ng/);
  await assert.rejects(
    missing.synthesize("Hi.", { format: "wav" }),
    isCode("audio_engine_unavailable"),
  );
});
