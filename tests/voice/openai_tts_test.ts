import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import { mp3SampleRate, OpenAICompatibleTts } from "../../src/voice/openai_tts.ts";
import { concatBytes } from "../../src/voice/process.ts";
import { pcmToWav } from "../../src/voice/wav.ts";
import { stalledBody, startAudioUpstream } from "../helpers/audio_upstream_mock.ts";

const KEY = "sk-upstream-secret-123456";
const isCode = (code: string) => (err: unknown) => err instanceof ChatError && err.code === code;

function engine(baseUrl: string, timeoutMs = 5000) {
  return new OpenAICompatibleTts({
    baseUrl,
    apiKey: KEY,
    model: "tts-1",
    voice: "alloy",
    timeoutMs,
  });
}

Deno.test("OpenAICompatibleTts posts OpenAI's speech request and streams the audio through", async () => {
  const wav = pcmToWav(new Uint8Array(4800), 24000);
  const upstream = await startAudioUpstream(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(wav.subarray(0, 100));
          c.enqueue(wav.subarray(100));
          c.close();
        },
      }),
      { headers: { "content-type": "audio/wav" } },
    )
  );
  try {
    const tts = engine(upstream.baseUrl);
    const speech = await tts.synthesize("Hello.", {
      format: "wav",
      voice: "nova",
      speed: 1.5,
      model: "gpt-4o-mini-tts",
      instructions: "cheerful",
    });
    assert.equal(speech.sampleRate, 24000, "read from the upstream's WAV header");
    assert.equal(speech.contentType, "audio/wav");
    const parts: Uint8Array[] = [];
    for await (const c of speech.chunks) parts.push(c);
    assert.deepEqual(concatBytes(parts), wav);
    const req = upstream.requests[0]!;
    assert.equal(req.path, "/v1/audio/speech");
    assert.equal(req.headers.get("authorization"), `Bearer ${KEY}`);
    assert.deepEqual(req.json, {
      model: "gpt-4o-mini-tts",
      input: "Hello.",
      voice: "nova",
      response_format: "wav",
      speed: 1.5,
      instructions: "cheerful",
    });
    const defaults = await tts.synthesize("Hi.", { format: "pcm" });
    await defaults.chunks.return();
    assert.equal(defaults.sampleRate, 24000);
    assert.deepEqual([upstream.requests[1]!.json.model, upstream.requests[1]!.json.voice], [
      "tts-1",
      "alloy",
    ]);
  } finally {
    await upstream.close();
  }
});

Deno.test("OpenAICompatibleTts maps upstream failures to stable codes, without the key", async (t) => {
  let answer: (signal: AbortSignal) => Response | Promise<Response> = () => new Response();
  const upstream = await startAudioUpstream((_, signal) => answer(signal));
  try {
    const tts = engine(upstream.baseUrl, 300);
    await t.step("429 → rate_limited", async () => {
      answer = () => Response.json({ error: { message: "Slow down" } }, { status: 429 });
      await assert.rejects(tts.synthesize("Hi.", { format: "mp3" }), isCode("rate_limited"));
    });
    await t.step("400 → upstream_error with the upstream's message, key redacted", async () => {
      answer = () =>
        Response.json({ error: { message: `Bad voice for key ${KEY}` } }, { status: 400 });
      await assert.rejects(
        tts.synthesize("Hi.", { format: "mp3", voice: "nobody" }),
        (err: unknown) =>
          isCode("upstream_error")(err) && /Bad voice/.test((err as Error).message) &&
          !(err as Error).message.includes(KEY),
      );
    });
    await t.step("no headers within TTS_TIMEOUT → upstream_timeout", async () => {
      answer = (signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve(new Response())));
      await assert.rejects(tts.synthesize("Hi.", { format: "mp3" }), isCode("upstream_timeout"));
    });
    await t.step("a stalled body → upstream_timeout", async () => {
      answer = (signal) => stalledBody(signal, new Uint8Array([0xff, 0xfb, 0x90, 0x64]));
      const speech = await tts.synthesize("Hi.", { format: "mp3" });
      await assert.rejects(async () => {
        for await (const _ of speech.chunks) { /* until it stalls */ }
      }, isCode("upstream_timeout"));
    });
    await t.step("an unreachable server → upstream_error", async () => {
      const gone = engine("http://127.0.0.1:9/v1", 2000);
      await assert.rejects(gone.synthesize("Hi.", { format: "mp3" }), isCode("upstream_error"));
    });
    await t.step("the caller's abort → cancelled", async () => {
      answer = (signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve(new Response())));
      const ac = new AbortController();
      const running = engine(upstream.baseUrl, 10_000).synthesize("Hi.", {
        format: "mp3",
        signal: ac.signal,
      });
      setTimeout(() => ac.abort(), 20);
      await assert.rejects(running, isCode("cancelled"));
    });
  } finally {
    await upstream.close();
  }
});

Deno.test("mp3SampleRate() reads the first MPEG frame, after an ID3 tag", () => {
  assert.equal(mp3SampleRate(new Uint8Array([0xff, 0xfb, 0x90, 0x64])), 44100);
  assert.equal(mp3SampleRate(new Uint8Array([0xff, 0xf3, 0x80, 0x64])), 22050);
  const id3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 2, 0, 0, 0xff, 0xf3, 0x84, 0x64]);
  assert.equal(mp3SampleRate(id3), 24000);
  assert.equal(mp3SampleRate(new TextEncoder().encode("not an mp3")), undefined);
});
