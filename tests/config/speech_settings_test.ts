import assert from "node:assert/strict";
import { ConfigError, loadSettings } from "../../config/settings.ts";

Deno.test("speech engines: offline unless an endpoint is configured, never silently otherwise", async (t) => {
  await t.step("nothing configured: the offline engines", () => {
    const s = loadSettings({});
    assert.deepEqual([s.stt.engine, s.tts.engine], ["offline", "offline"]);
    assert.equal(s.stt.maxAudioBytes, 25 * 1024 * 1024);
    assert.equal(s.tts.maxTextLength, 4096);
    assert.equal(s.tts.voice, undefined);
  });
  await t.step("OPENAI_API_KEY alone: OpenAI for both", () => {
    const s = loadSettings({ OPENAI_API_KEY: "sk-x" });
    assert.deepEqual(s.stt, {
      engine: "openai",
      baseUrl: "https://api.openai.com/v1",
      apiKey: "sk-x",
      model: "whisper-1",
      timeoutMs: 120_000,
      maxAudioBytes: 25 * 1024 * 1024,
    });
    assert.equal(s.tts.engine, "openai");
    assert.equal(s.tts.model, "tts-1");
  });
  await t.step("STT_*/TTS_* win over OPENAI_*, per direction", () => {
    const s = loadSettings({
      OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
      STT_BASE_URL: "http://127.0.0.1:8000/v1",
      STT_MODEL: "Systran/faster-whisper-small",
      TTS_API_KEY: "tts-key",
      TTS_VOICE: "af_bella",
    });
    assert.equal(s.stt.engine === "openai" && s.stt.baseUrl, "http://127.0.0.1:8000/v1");
    assert.equal(s.stt.model, "Systran/faster-whisper-small");
    assert.equal(s.tts.engine === "openai" && s.tts.baseUrl, "http://127.0.0.1:11434/v1");
    assert.equal(s.tts.engine === "openai" && s.tts.apiKey, "tts-key");
    assert.equal(s.tts.voice, "af_bella");
  });
  await t.step("`offline` keeps the embedded engine next to a chat-only OPENAI_BASE_URL", () => {
    const s = loadSettings({
      OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
      STT_BASE_URL: "offline",
      TTS_BASE_URL: "offline",
    });
    assert.deepEqual([s.stt.engine, s.tts.engine], ["offline", "offline"]);
  });
  await t.step("limits and timeouts", () => {
    const s = loadSettings({
      STT_MAX_AUDIO_BYTES: "1048576",
      STT_TIMEOUT: "30",
      TTS_MAX_TEXT_LENGTH: "100",
      TTS_TIMEOUT: "2.5",
    });
    assert.deepEqual(
      [s.stt.maxAudioBytes, s.stt.timeoutMs, s.tts.maxTextLength, s.tts.timeoutMs],
      [1048576, 30_000, 100, 2500],
    );
  });
  await t.step("bad values stop start-up, naming the variable", () => {
    for (
      const [name, value] of [
        ["STT_BASE_URL", "not a url"],
        ["TTS_BASE_URL", "ftp//x"],
        ["STT_MAX_AUDIO_BYTES", "12"],
        ["TTS_MAX_TEXT_LENGTH", "0"],
        ["TTS_TIMEOUT", "-1"],
      ]
    ) {
      assert.throws(
        () => loadSettings({ [name!]: value! }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(name!),
      );
    }
  });
});
