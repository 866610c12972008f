/**
 * The audio routes through the real offline engines (espeak-ng, pocketsphinx,
 * sox), driven by the real `openai` SDK against a real yychat test server.
 *
 * Recognition is checked on a constrained vocabulary: the tests send a JSGF
 * grammar of the phrases they speak as `prompt` (the offline engine's way to
 * be exact; see docs/VOICE.md). Open vocabulary is demo quality:
 * tests/voice/pocketsphinx_stt_test.ts checks only its shape.
 */
import assert from "node:assert/strict";
import OpenAI, { toFile } from "openai";
import { pcmToWav, wavHeader } from "../../src/voice/wav.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import {
  hasVoiceEngines,
  phraseGrammar,
  soxInfo,
  warnIfMissing,
} from "../helpers/voice_engines.ts";

warnIfMissing("tests/server/rest_audio_test.ts");

// deno-lint-ignore no-explicit-any
type Json = any;

const PHRASES = ["good morning", "how are you", "please turn on the light", "what time is it"];
const GRAMMAR = phraseGrammar(PHRASES);
const SPOKEN = "Good morning, how are you? Please turn on the light.";
const HEARD = "good morning how are you please turn on the light";

async function withServer(
  fn: (ctx: { server: TestServer; client: OpenAI }) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const server = await startTestServer({ LOG_LEVEL: "info", ...env });
  const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
  try {
    await fn({ server, client });
  } finally {
    await server.close();
  }
}

function assertError(
  status: number,
  body: Json,
  expected: { status: number; code: string; param?: string },
) {
  assert.equal(status, expected.status, JSON.stringify(body));
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(body.error.code, expected.code, body.error.message);
  if (expected.param !== undefined) assert.equal(body.error.param, expected.param);
  assert.ok(body.error.message.length > 10, "the message says what is wrong");
}

async function speech(server: TestServer, body: Record<string, unknown>): Promise<Response> {
  return await fetch(server.http + "/v1/audio/speech", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

async function transcribe(
  server: TestServer,
  fields: Record<string, string | Blob>,
  query = "",
): Promise<[number, Json]> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(server.http + "/v1/audio/transcriptions" + query, {
    method: "POST",
    body: form,
  });
  const text = await res.text();
  return [res.status, res.headers.get("content-type")?.includes("json") ? JSON.parse(text) : text];
}

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

/** `data:` payloads of an SSE body. */
function sseEvents(text: string): Json[] {
  return text.split("\n\n").filter((b) => b.startsWith("data: ")).map((b) =>
    JSON.parse(b.slice(6))
  );
}

Deno.test({
  name:
    "POST /v1/audio/speech → /v1/audio/transcriptions: espeak-ng speech comes back as its words",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ client }) => {
      const res = await client.audio.speech.create({
        model: "tts-1",
        voice: "alloy",
        input: SPOKEN,
        response_format: "wav",
      });
      assert.equal(res.headers.get("content-type"), "audio/wav");
      assert.equal(res.headers.get("x-yychat-sample-rate"), "22050");
      const wav = await bytesOf(res);
      const info = await soxInfo(wav, "wav");
      assert.deepEqual([info.rate, info.channels], [22050, 1]);
      assert.ok(info.seconds > 2 && info.seconds < 8, `${info.seconds} s`);

      await t.step("json", async () => {
        const result = await client.audio.transcriptions.create({
          file: await toFile(wav, "speech.wav"),
          model: "whisper-1",
          prompt: GRAMMAR,
        });
        assert.equal(result.text, HEARD);
        assert.equal((result.usage as Json).type, "duration");
        assert.ok(Math.abs((result.usage as Json).seconds - info.seconds) < 0.05);
      });
      await t.step("text", async () => {
        const text = await client.audio.transcriptions.create({
          file: await toFile(wav, "speech.wav"),
          model: "whisper-1",
          prompt: GRAMMAR,
          response_format: "text",
        });
        assert.equal(text, HEARD);
      });
      await t.step("verbose_json with word timestamps", async () => {
        const v = await client.audio.transcriptions.create({
          file: await toFile(wav, "speech.wav"),
          model: "whisper-1",
          prompt: GRAMMAR,
          language: "en",
          response_format: "verbose_json",
          timestamp_granularities: ["word", "segment"],
        });
        assert.equal(v.text, HEARD);
        assert.equal(v.language, "english");
        assert.ok(Math.abs(v.duration - info.seconds) < 0.05);
        assert.ok(v.segments!.length >= 1);
        assert.deepEqual(v.words!.map((w) => w.word).join(" "), HEARD);
        for (const w of v.words!) assert.ok(w.end >= w.start && w.end <= v.duration + 0.01);
      });
    });
  },
});

Deno.test({
  name: "POST /v1/audio/speech makes MP3 (the default), PCM and FLAC",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ server, client }) => {
      await t.step("mp3 by default, read by soxi", async () => {
        const res = await client.audio.speech.create({
          model: "tts-1",
          voice: "nova",
          input: SPOKEN,
        });
        assert.equal(res.headers.get("content-type"), "audio/mpeg");
        const info = await soxInfo(await bytesOf(res), "mp3");
        assert.equal(info.rate, 22050);
        assert.ok(info.seconds > 2, `${info.seconds} s`);
      });
      await t.step("pcm: raw 24 kHz 16-bit mono", async () => {
        const res = await speech(server, { input: SPOKEN, response_format: "pcm" });
        assert.equal(res.headers.get("content-type"), "audio/pcm");
        assert.equal(res.headers.get("x-yychat-sample-rate"), "24000");
        const pcm = await bytesOf(res);
        assert.equal(pcm.length % 2, 0);
        const info = await soxInfo(pcmToWav(pcm, 24000), "wav");
        assert.ok(info.seconds > 2 && info.seconds < 8);
      });
      await t.step("flac", async () => {
        const res = await speech(server, { input: "你好，世界。", response_format: "flac" });
        assert.equal(res.headers.get("content-type"), "audio/flac");
        assert.equal(res.headers.get("x-yychat-voice"), "cmn");
        assert.equal((await soxInfo(await bytesOf(res), "flac")).rate, 22050);
      });
      await t.step(
        "formats the engine cannot make are 400 unsupported_response_format",
        async () => {
          for (const format of ["opus", "aac", "ogg"]) {
            const res = await speech(server, { input: "Hi.", response_format: format });
            assertError(res.status, await res.json(), {
              status: 400,
              code: "unsupported_response_format",
              param: "response_format",
            });
          }
          await assert.rejects(
            client.audio.speech.create({
              model: "tts-1",
              voice: "alloy",
              input: "Hi.",
              response_format: "opus",
            }),
            (err: unknown) =>
              err instanceof OpenAI.BadRequestError && err.code === "unsupported_response_format",
          );
        },
      );
    });
  },
});

Deno.test({
  name: "POST /v1/audio/speech and /transcriptions stream SSE events in OpenAI's shape",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ client }) => {
      let mp3: Uint8Array = new Uint8Array();
      await t.step("speech.audio.delta … speech.audio.done", async () => {
        const res = await client.audio.speech.create({
          model: "tts-1",
          voice: "alloy",
          input: SPOKEN,
          response_format: "mp3",
          stream_format: "sse",
        });
        assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
        const events = sseEvents(await res.text());
        const deltas = events.filter((e) => e.type === "speech.audio.delta");
        assert.ok(deltas.length >= 1);
        assert.deepEqual(events.at(-1), {
          type: "speech.audio.done",
          usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
        });
        const parts = deltas.map((d) => Uint8Array.fromBase64(d.audio));
        mp3 = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of parts) mp3.set(p, (at += p.length) - p.length);
        assert.ok((await soxInfo(mp3, "mp3")).seconds > 2);
      });
      await t.step("transcript.text.delta … transcript.text.done", async () => {
        const stream = await client.audio.transcriptions.create({
          file: await toFile(mp3, "speech.mp3"),
          model: "whisper-1",
          prompt: GRAMMAR,
          stream: true,
        });
        const events: Json[] = [];
        for await (const e of stream) events.push(e);
        const deltas = events.filter((e) => e.type === "transcript.text.delta");
        assert.ok(deltas.length >= 1);
        assert.equal(deltas.map((d) => d.delta).join(""), HEARD);
        assert.equal(events.at(-1).type, "transcript.text.done");
        assert.equal(events.at(-1).text, HEARD);
      });
    });
  },
});

Deno.test({
  name: "POST /v1/audio/transcriptions takes the original service's audio_file field and ?model=",
  ignore: !hasVoiceEngines,
  async fn() {
    await withServer(async ({ server }) => {
      const wav = await bytesOf(
        await speech(server, { input: "What time is it?", response_format: "wav" }),
      );
      const [status, body] = await transcribe(server, {
        audio_file: new File([wav], "q.wav", { type: "audio/wav" }),
        prompt: GRAMMAR,
      }, "?model=whisper-1");
      assert.equal(status, 200, JSON.stringify(body));
      assert.equal(body.text, "what time is it");
    });
  },
});

Deno.test({
  name: "POST /v1/audio/transcriptions refuses bad audio with a clear 400 and a stable code",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ server }) => {
      const wav = pcmToWav(new Uint8Array(16000), 16000);
      const header8bit = wavHeader({ sampleRate: 16000 });
      new DataView(header8bit.buffer).setUint16(34, 8, true);
      const cases: [string, Record<string, string | Blob>, number, string, string?][] = [
        [
          "not audio",
          { file: new File(["just some text, no audio"], "a.wav") },
          400,
          "invalid_audio",
          "file",
        ],
        ["empty file", { file: new File([], "a.wav") }, 400, "empty_audio", "file"],
        [
          "truncated WAV",
          { file: new File([wav.subarray(0, 4000)], "a.wav") },
          400,
          "invalid_audio",
          "file",
        ],
        [
          "8-bit WAV",
          {
            file: new File([header8bit, new Uint8Array(800)], "a.wav"),
          },
          400,
          "unsupported_audio_format",
          "file",
        ],
        [
          "4 kHz WAV",
          { file: new File([pcmToWav(new Uint8Array(800), 4000)], "a.wav") },
          400,
          "unsupported_sample_rate",
          "file",
        ],
        [
          "WebM (no offline decoder)",
          {
            file: new File([new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2, 3])], "a.webm"),
          },
          400,
          "unsupported_audio_format",
          "file",
        ],
        ["no file", { model: "whisper-1" }, 400, "invalid_request", "file"],
        ["file as a text field", { file: "not a file" }, 400, "invalid_request", "file"],
        [
          "Chinese to the US English recogniser",
          {
            file: new File([wav], "a.wav"),
            language: "zh",
          },
          400,
          "unsupported_language",
          "language",
        ],
        [
          "srt output",
          { file: new File([wav], "a.wav"), response_format: "srt" },
          400,
          "unsupported_response_format",
          "response_format",
        ],
        [
          "a grammar with unknown words",
          {
            file: new File([wav], "a.wav"),
            prompt: phraseGrammar(["zzqx blorf"]),
          },
          400,
          "validation_error",
          "prompt",
        ],
      ];
      for (const [name, fields, status, code, param] of cases) {
        await t.step(name, async () => {
          const [s, body] = await transcribe(server, fields);
          assertError(s, body, { status, code, param });
        });
      }
      await t.step("not multipart: 415", async () => {
        const res = await fetch(server.http + "/v1/audio/transcriptions", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        assertError(res.status, await res.json(), { status: 415, code: "unsupported_media_type" });
      });
    });
  },
});

Deno.test({
  name:
    "POST /v1/audio/transcriptions refuses audio over STT_MAX_AUDIO_BYTES with 413, before parsing it all",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ server }) => {
      const big = pcmToWav(new Uint8Array(200_000), 16000);
      await t.step("a file over the limit", async () => {
        const [status, body] = await transcribe(server, { file: new File([big], "big.wav") });
        assertError(status, body, { status: 413, code: "audio_too_large", param: "file" });
      });
      await t.step("a declared Content-Length over the limit is refused unread", async () => {
        const boundary = "xyz";
        const head =
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n`;
        const conn = await Deno.connect({
          hostname: "127.0.0.1",
          port: Number(new URL(server.http).port),
        });
        const request = `POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 500000000\r\n\r\n${head}`;
        await conn.write(new TextEncoder().encode(request));
        const buf = new Uint8Array(4096);
        const n = await conn.read(buf);
        conn.close();
        const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0));
        assert.match(answer, /^HTTP\/1\.1 413/);
        assert.match(answer, /audio_too_large/);
      });
      await t.step("a chunked body is cut off once it passes the limit", async () => {
        let sent = 0;
        const chunk = new Uint8Array(64 * 1024);
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new TextEncoder().encode(
              `--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n`,
            ));
          },
          pull(c) {
            // Endless: only the server's limit can end this upload.
            sent += chunk.length;
            if (sent > 64 * 1024 * 1024) c.close();
            else c.enqueue(chunk);
          },
        });
        const res = await fetch(server.http + "/v1/audio/transcriptions", {
          method: "POST",
          headers: { "content-type": "multipart/form-data; boundary=b" },
          body,
        });
        assertError(res.status, await res.json(), { status: 413, code: "audio_too_large" });
        assert.ok(sent < 8 * 1024 * 1024, `the server stopped reading early (${sent} bytes sent)`);
      });
    }, { STT_MAX_AUDIO_BYTES: "100000" });
  },
});

Deno.test({
  name: "POST /v1/audio/speech validates its body",
  ignore: !hasVoiceEngines,
  async fn(t) {
    await withServer(async ({ server }) => {
      const cases: [string, Record<string, unknown>, string, string][] = [
        ["speed over 4", { input: "Hi.", speed: 5 }, "invalid_request", "speed"],
        ["speed under 0.25", { input: "Hi.", speed: 0.1 }, "invalid_request", "speed"],
        ["empty input", { input: "  " }, "invalid_request", "input"],
        [
          "input over TTS_MAX_TEXT_LENGTH",
          { input: "word ".repeat(20) },
          "invalid_request",
          "input",
        ],
        ["unknown voice", { input: "Hi.", voice: "klingon" }, "voice_not_found", "voice"],
        [
          "unknown stream_format",
          { input: "Hi.", stream_format: "ws" },
          "invalid_request",
          "stream_format",
        ],
      ];
      for (const [name, body, code, param] of cases) {
        await t.step(name, async () => {
          const res = await speech(server, body);
          assertError(res.status, await res.json(), { status: 400, code, param });
        });
      }
      await t.step("a custom-voice object {id}", async () => {
        const res = await speech(server, {
          input: "Hi.",
          voice: { id: "en-gb" },
          response_format: "wav",
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("x-yychat-voice"), "en-gb");
        await res.body?.cancel();
      });
    }, { TTS_MAX_TEXT_LENGTH: "50" });
  },
});

Deno.test({
  name: "GET /v1/audio/voices and /v1/audio/models describe the offline engines",
  ignore: !hasVoiceEngines,
  async fn() {
    await withServer(async ({ server }) => {
      const voices = await (await fetch(server.http + "/v1/audio/voices")).json();
      assert.equal(voices.status, "success");
      assert.equal(voices.default_voice, "en-us");
      for (const id of ["en-us", "cmn", "alloy"]) {
        assert.equal(typeof voices.data[id], "string", id);
      }
      assert.ok(voices.voices.some((v: Json) => v.id === "cmn" && v.language === "cmn"));
      const models = await (await fetch(server.http + "/v1/audio/models")).json();
      assert.deepEqual(models.models.map((m: Json) => [m.id, m.kind, m.offline]), [
        ["yychat-offline-stt-pocketsphinx-en-us", "stt", true],
        ["yychat-offline-tts-espeak-ng", "tts", true],
      ]);
    });
  },
});

Deno.test({
  name: "POST /v1/audio/speech stops the engine when the client hangs up",
  ignore: !hasVoiceEngines,
  async fn() {
    await withServer(async ({ server }) => {
      const res = await speech(server, {
        input: "This goes on and on. ".repeat(150),
        response_format: "mp3",
      });
      const reader = res.body!.getReader();
      assert.equal((await reader.read()).done, false);
      await reader.cancel();
      // The request's log line says it was cancelled; the sanitizers check no process or pipe is left.
      await waitFor(() => server.logs.some((l) => l.includes('"outcome":"cancelled"')));
    });
  },
});

Deno.test({
  name:
    "Without the engines installed the audio routes answer 503 audio_engine_unavailable, the rest works",
  async fn() {
    // main.ts with a PATH that holds none of the engine programs.
    const emptyDir = await Deno.makeTempDir({ prefix: "yychat-no-engines-" });
    const server = await startServerProcess({ PATH: emptyDir });
    try {
      const wav = pcmToWav(new Uint8Array(3200), 16000);
      const form = new FormData();
      form.append("file", new File([wav], "a.wav"));
      const answers = [
        await fetch(server.http + "/v1/audio/speech", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ input: "Hello." }),
        }),
        await fetch(server.http + "/v1/audio/transcriptions", { method: "POST", body: form }),
        await fetch(server.http + "/v1/audio/voices"),
        await fetch(server.http + "/v1/audio/models"),
      ];
      for (const res of answers) {
        const body = await res.json();
        assertError(res.status, body, { status: 503, code: "audio_engine_unavailable" });
        assert.match(body.error.message, /apt-get install/);
      }
      const health = await fetch(server.http + "/health");
      assert.equal(health.status, 200);
      await health.body?.cancel();
      const models = await fetch(server.http + "/v1/models");
      assert.equal(models.status, 200);
      await models.body?.cancel();
    } finally {
      assert.equal(await server.stop(), 0);
      await Deno.remove(emptyDir, { recursive: true });
    }
  },
});
