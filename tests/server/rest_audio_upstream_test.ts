/**
 * The OpenAI-compatible speech engines against a real upstream: a second
 * yychat (offline engines, behind a key) serves `/v1/audio/*` to a yychat
 * configured with `STT_BASE_URL`/`TTS_BASE_URL`; clients use the `openai` SDK.
 */
import assert from "node:assert/strict";
import OpenAI, { toFile } from "openai";
import { startTestServer } from "../helpers/test_server.ts";
import {
  hasVoiceEngines,
  phraseGrammar,
  soxInfo,
  warnIfMissing,
} from "../helpers/voice_engines.ts";

warnIfMissing("tests/server/rest_audio_upstream_test.ts");

const UPSTREAM_KEY = "upstream-audio-key-0123456789";
const GRAMMAR = phraseGrammar(["good morning", "how are you", "what time is it"]);

Deno.test({
  name: "STT_BASE_URL/TTS_BASE_URL send audio to an OpenAI-compatible server (a second yychat)",
  ignore: !hasVoiceEngines,
  async fn(t) {
    const upstream = await startTestServer({ LOG_LEVEL: "info", YYCHAT_API_KEY: UPSTREAM_KEY });
    const server = await startTestServer({
      LOG_LEVEL: "debug",
      STT_BASE_URL: upstream.http + "/v1",
      STT_API_KEY: UPSTREAM_KEY,
      TTS_BASE_URL: upstream.http + "/v1",
      TTS_API_KEY: UPSTREAM_KEY,
      TTS_MODEL: "tts-1",
      TTS_VOICE: "nova",
    });
    const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
    try {
      let wav = new Uint8Array();
      await t.step("speech is made upstream and streamed through", async () => {
        const res = await client.audio.speech.create({
          model: "tts-1",
          voice: "alloy",
          input: "Good morning, how are you?",
          response_format: "wav",
        });
        assert.equal(
          res.headers.get("x-yychat-sample-rate"),
          "22050",
          "read from the upstream's WAV header",
        );
        wav = new Uint8Array(await res.arrayBuffer());
        assert.equal((await soxInfo(wav, "wav")).rate, 22050);
      });
      await t.step("transcription upstream, prompt passed on", async () => {
        const result = await client.audio.transcriptions.create({
          file: await toFile(wav, "a.wav"),
          model: "whisper-1",
          prompt: GRAMMAR,
        });
        assert.equal(result.text, "good morning how are you");
      });
      await t.step("streamed transcription: the upstream's SSE deltas pass through", async () => {
        const stream = await client.audio.transcriptions.create({
          file: await toFile(wav, "a.wav"),
          model: "whisper-1",
          prompt: GRAMMAR,
          stream: true,
        });
        const events = [];
        for await (const e of stream) events.push(e);
        assert.equal(events.at(-1)!.type, "transcript.text.done");
        assert.equal((events.at(-1) as { text: string }).text, "good morning how are you");
      });
      await t.step("the upstream's refusals keep their meaning", async () => {
        await assert.rejects(
          client.audio.speech.create({
            model: "tts-1",
            voice: "klingon",
            input: "Hi.",
            response_format: "wav",
          }),
          (err: unknown) =>
            err instanceof OpenAI.APIError && err.status === 502 && err.code === "upstream_error" &&
            /voice/.test(err.message),
        );
      });
      await t.step("models and voices name the upstream's", async () => {
        const models = await (await fetch(server.http + "/v1/audio/models")).json();
        assert.deepEqual(
          models.models.map((m: { id: string; offline: boolean }) => [m.id, m.offline]),
          [
            ["whisper-1", false],
            ["tts-1", false],
          ],
        );
        const voices = await (await fetch(server.http + "/v1/audio/voices")).json();
        assert.equal(voices.default_voice, "nova");
      });
      await t.step("the upstream key is never logged", () => {
        assert.ok(server.logs.some((l) => l.includes('"speech_engine"')));
        assert.ok(!server.logs.some((l) => l.includes(UPSTREAM_KEY)));
      });
    } finally {
      await server.close();
      await upstream.close();
    }
  },
});

Deno.test({
  name: "A wrong upstream key is an upstream_error that does not echo the key",
  ignore: !hasVoiceEngines,
  async fn() {
    const upstream = await startTestServer({ LOG_LEVEL: "info", YYCHAT_API_KEY: UPSTREAM_KEY });
    const wrong = "wrong-key-should-not-leak-42";
    const server = await startTestServer({
      TTS_BASE_URL: upstream.http + "/v1",
      TTS_API_KEY: wrong,
    });
    try {
      const res = await fetch(server.http + "/v1/audio/speech", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ input: "Hello.", response_format: "wav" }),
      });
      const body = await res.json();
      assert.equal(res.status, 502);
      assert.equal(body.error.code, "upstream_error");
      assert.match(body.error.message, /HTTP 401/);
      assert.ok(!JSON.stringify(body).includes(wrong));
      assert.ok(!server.logs.some((l) => l.includes(wrong)));
    } finally {
      await server.close();
      await upstream.close();
    }
  },
});
