import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import type { TranscriptEvent } from "../../src/core/speech.ts";
import { decodeBase64Audio, validateAudioFile } from "../../src/voice/audio_input.ts";
import { OpenAICompatibleStt } from "../../src/voice/openai_stt.ts";
import { parseWav, pcmToWav } from "../../src/voice/wav.ts";
import { startAudioUpstream } from "../helpers/audio_upstream_mock.ts";

const KEY = "sk-stt-secret-abcdef";
const isCode = (code: string) => (err: unknown) => err instanceof ChatError && err.code === code;
const wav = validateAudioFile(pcmToWav(new Uint8Array(32000), 16000), { maxBytes: 1 << 20 });

function engine(baseUrl: string, timeoutMs = 5000) {
  return new OpenAICompatibleStt({ baseUrl, apiKey: KEY, model: "whisper-1", timeoutMs });
}

Deno.test("OpenAICompatibleStt uploads the audio with OpenAI's fields", async (t) => {
  const upstream = await startAudioUpstream((req) =>
    req.fields?.response_format?.[0] === "verbose_json"
      ? Response.json({
        task: "transcribe",
        language: "english",
        duration: 1,
        text: "hello world",
        segments: [{ id: 0, start: 0, end: 1, text: "hello world" }],
        words: [{ word: "hello", start: 0, end: 0.5 }, { word: "world", start: 0.5, end: 1 }],
      })
      : Response.json({ text: "hello world" })
  );
  try {
    const stt = engine(upstream.baseUrl);
    await t.step("json", async () => {
      const result = await stt.transcribe(wav, { language: "en", prompt: "Hello" });
      assert.deepEqual(result, {
        text: "hello world",
        model: "whisper-1",
        language: "en",
        durationSeconds: 1,
      });
      const req = upstream.requests.at(-1)!;
      assert.equal(req.path, "/v1/audio/transcriptions");
      assert.equal(req.headers.get("authorization"), `Bearer ${KEY}`);
      assert.deepEqual(req.fields, {
        model: ["whisper-1"],
        language: ["en"],
        prompt: ["Hello"],
        response_format: ["json"],
      });
      assert.deepEqual(req.file!.bytes, wav.data);
      assert.deepEqual([req.file!.name, req.file!.type], ["audio.wav", "audio/wav"]);
    });
    await t.step("verbose_json with words", async () => {
      const result = await stt.transcribe(wav, { model: "large-v3", wordTimestamps: true });
      assert.equal(result.language, "en");
      assert.equal(result.model, "large-v3");
      assert.deepEqual(result.words!.map((w) => w.word), ["hello", "world"]);
      assert.deepEqual(upstream.requests.at(-1)!.fields!["timestamp_granularities[]"], [
        "word",
        "segment",
      ]);
    });
    await t.step("pcm16 is sent as a WAV file", async () => {
      const pcm = decodeBase64Audio({
        audio_base64: new Uint8Array(4800).toBase64(),
        format: "pcm16",
        sample_rate: 24000,
      }, {
        maxBytes: 1 << 20,
      });
      await stt.transcribe(pcm);
      const sent = upstream.requests.at(-1)!.file!.bytes;
      assert.deepEqual([parseWav(sent).sampleRate, parseWav(sent).dataLength], [24000, 4800]);
    });
  } finally {
    await upstream.close();
  }
});

Deno.test("OpenAICompatibleStt.transcribeStream() passes an SSE upstream's deltas on, or one delta from JSON", async (t) => {
  let sse = true;
  const upstream = await startAudioUpstream(() =>
    sse
      ? new Response(
        [
          'data: {"type":"transcript.text.delta","delta":"hello"}\n\n',
          'data: {"type":"transcript.text.delta","delta":" world"}\n\n',
          'data: {"type":"transcript.text.done","text":"hello world"}\n\n',
        ].join(""),
        { headers: { "content-type": "text/event-stream" } },
      )
      : Response.json({ text: "hello world" })
  );
  try {
    const stt = engine(upstream.baseUrl);
    const collect = async () => {
      const events: TranscriptEvent[] = [];
      for await (const e of stt.transcribeStream(wav)) events.push(e);
      return events.map((e) => e.type === "delta" ? e.text : `done:${e.transcript.text}`);
    };
    await t.step("SSE", async () => {
      assert.deepEqual(await collect(), ["hello", " world", "done:hello world"]);
      assert.deepEqual(upstream.requests.at(-1)!.fields!.stream, ["true"]);
    });
    await t.step("JSON", async () => {
      sse = false;
      assert.deepEqual(await collect(), ["hello world", "done:hello world"]);
    });
  } finally {
    await upstream.close();
  }
});

Deno.test("OpenAICompatibleStt maps failures to stable codes, without the key", async (t) => {
  let answer: (signal: AbortSignal) => Response | Promise<Response> = () => new Response();
  const upstream = await startAudioUpstream((_, signal) => answer(signal));
  try {
    await t.step("429 → rate_limited", async () => {
      answer = () => Response.json({ error: { message: "quota" } }, { status: 429 });
      await assert.rejects(engine(upstream.baseUrl).transcribe(wav), isCode("rate_limited"));
    });
    await t.step("401 → upstream_error, key redacted", async () => {
      answer = () =>
        Response.json({ error: { message: `Incorrect API key provided: ${KEY}` } }, {
          status: 401,
        });
      await assert.rejects(
        engine(upstream.baseUrl).transcribe(wav),
        (err: unknown) => isCode("upstream_error")(err) && !(err as Error).message.includes(KEY),
      );
    });
    await t.step("an answer without text → upstream_error", async () => {
      answer = () => Response.json({ nothing: true });
      await assert.rejects(engine(upstream.baseUrl).transcribe(wav), isCode("upstream_error"));
    });
    await t.step("slower than STT_TIMEOUT → upstream_timeout", async () => {
      answer = (signal) =>
        new Promise((resolve) => signal.addEventListener("abort", () => resolve(new Response())));
      await assert.rejects(
        engine(upstream.baseUrl, 200).transcribe(wav),
        isCode("upstream_timeout"),
      );
    });
  } finally {
    await upstream.close();
  }
});
