/**
 * Voice over the WebSocket (SPEC §11) through the real engines: espeak-ng
 * speaks, pocketsphinx listens (on a constrained vocabulary: the tests send
 * a JSGF grammar of their phrases as `prompt`, the offline engine's way to
 * be exact), sox converts. Ignored loudly without them.
 */
import assert from "node:assert/strict";
import { wavHeader } from "../../src/voice/wav.ts";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import {
  hasVoiceEngines,
  phraseGrammar,
  soxInfo,
  warnIfMissing,
} from "../helpers/voice_engines.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

warnIfMissing("tests/server/ws_voice_test.ts");

const PHRASE = "what time is it";

/** The server's own text to speech, as a client would record it: WAV bytes of `text`. */
async function speak(server: TestServer, text: string): Promise<Uint8Array> {
  const res = await fetch(`${server.http}/v1/audio/speech`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "tts-1", input: text, voice: "alloy", response_format: "wav" }),
  });
  assert.equal(res.status, 200);
  return new Uint8Array(await res.arrayBuffer());
}

Deno.test({
  name: "audio_input with respond: transcript, the stage-1 reply, then spoken sentences in order",
  ignore: !hasVoiceEngines,
  async fn() {
    const server = await startTestServer();
    const { client } = await TestClient.connect(server.ws);
    try {
      const wav = await speak(server, PHRASE);
      client.send({
        type: "audio_input",
        audio_base64: wav.toBase64(),
        format: "wav",
        prompt: phraseGrammar([PHRASE]),
        respond: true,
        voice: true,
        request_id: "v1",
        conversation_id: "spoken",
      });
      const events = await client.until("synthesis_complete", 60_000);
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        "audio_processing_start",
        "transcription_result",
        "processing_start",
        "stream_start",
      ]);
      assert.ok(events[0]!.resume_token, "the first event carries the resume token");
      assert.equal(events[1]!.text, PHRASE);
      const text = events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");
      const end = events.find((e) => e.type === "stream_end")!;
      assert.equal(end.full_content, text);
      const audio = events.filter((e) => e.type === "audio_stream");
      assert.ok(audio.length >= 1);
      assert.deepEqual(audio.map((e) => e.segment), audio.map((_, i) => i + 1), "in order");
      for (const a of audio) {
        const info = await soxInfo(Uint8Array.fromBase64(String(a.audio)), "wav");
        assert.equal(info.rate, a.sample_rate);
        assert.ok(info.seconds > 0.1, `${a.text}: ${info.seconds} s`);
      }
      assert.equal(events.at(-1)!.segments, audio.length);
      assert.ok(events.every((e) => e.request_id === "v1"));
      const stored = await server.app.services.memory.list("", "spoken");
      assert.deepEqual([stored[0]!.role, stored[0]!.content], ["user", PHRASE]);
      assert.deepEqual([stored.at(-1)!.role, stored.at(-1)!.content], ["assistant", text]);
    } finally {
      await client.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "audio_input without respond only transcribes",
  ignore: !hasVoiceEngines,
  async fn() {
    const server = await startTestServer();
    const { client } = await TestClient.connect(server.ws);
    try {
      const wav = await speak(server, PHRASE);
      client.send({
        type: "audio_input",
        audio: `data:audio/wav;base64,${wav.toBase64()}`, // the original service's field and prefix
        prompt: phraseGrammar([PHRASE]),
      });
      const events = await client.until("transcription_result", 30_000);
      assert.deepEqual(events.map((e) => e.type), [
        "audio_processing_start",
        "transcription_result",
      ]);
      assert.equal(events[1]!.text, PHRASE);
      assert.equal((await client.request({ type: "ping" })).type, "pong", "nothing else follows");
    } finally {
      await client.close();
      await server.close();
    }
  },
});

Deno.test({
  name: "cancel during speech stops the text and the speech",
  ignore: !hasVoiceEngines,
  async fn() {
    const mock = await OpenAIMock.start();
    const sentences = Array.from(
      { length: 12 },
      (_, i) => `This is sentence number ${i + 1} of a long answer. `,
    );
    mock.enqueue(textReply(sentences.join(""), { chunkDelayMs: 40 }));
    // The chat provider is the mock; speech stays on the offline engine.
    const server = await startTestServer({
      OPENAI_BASE_URL: mock.baseUrl,
      OPENAI_API_KEY: "sk",
      TTS_BASE_URL: "offline",
    });
    const { client } = await TestClient.connect(server.ws);
    try {
      client.send({ type: "text_message", content: "talk", voice: true, request_id: "c1" });
      const before = await client.until("audio_stream", 30_000);
      client.send({ type: "cancel", request_id: "c1" });
      const after = await client.until("synthesis_complete", 30_000);
      const all: Event[] = [...before, ...after];
      const end = all.find((e) => e.type === "stream_end")!;
      assert.equal(end.finish_reason, "cancelled");
      const spoken = all.filter((e) => e.type === "audio_stream").length;
      assert.ok(spoken < sentences.length, `${spoken} of ${sentences.length} spoken`);
      assert.equal(all.at(-1)!.segments, spoken);
      assert.equal((await client.request({ type: "ping" })).type, "pong", "no stale audio after");
    } finally {
      await client.close();
      await server.close();
      await mock.close();
    }
  },
});

Deno.test("audio_input refuses bad audio with a clear error and stores nothing", async (t) => {
  const server = await startTestServer({ STT_MAX_AUDIO_BYTES: "4096" });
  const { client } = await TestClient.connect(server.ws);
  const header = (sampleRate: number, dataBytes: number) => wavHeader({ sampleRate, dataBytes });
  const withSamples = (h: Uint8Array, n: number) => new Uint8Array([...h, ...new Uint8Array(n)]);
  const cases: [string, Record<string, unknown>, string][] = [
    ["not audio", { audio_base64: btoa("hello, this is plain text, not audio") }, "invalid_audio"],
    ["not base64", { audio_base64: "!!!not base64!!!" }, "invalid_audio"],
    ["a truncated WAV", { audio_base64: header(16000, 1000).toBase64() }, "invalid_audio"],
    [
      "a sample rate no engine takes",
      { audio_base64: withSamples(header(4000, 200), 200).toBase64() },
      "unsupported_sample_rate",
    ],
    [
      "over STT_MAX_AUDIO_BYTES",
      { audio_base64: withSamples(header(16000, 8000), 8000).toBase64() },
      "audio_too_large",
    ],
    ["empty", { audio_base64: "" }, "validation_error"],
    ["no audio field", {}, "validation_error"],
  ];
  try {
    for (const [name, fields, code] of cases) {
      await t.step(name, async () => {
        const e = await client.request({
          type: "audio_input",
          format: "wav",
          respond: true,
          conversation_id: "bad-audio",
          ...fields,
        });
        assert.equal(e.type, "error");
        assert.equal((e.error as { code: string }).code, code, JSON.stringify(e));
      });
    }
    assert.equal(server.app.generations.running, 0, "nothing started");
    assert.deepEqual(await server.app.services.memory.list("", "bad-audio"), []);
  } finally {
    await client.close();
    await server.close();
  }
});
