/**
 * Voice as an independent client sees it: a Python `websockets` client sends
 * speech (espeak-ng's WAV) as `audio_input` with `respond: true` to
 * `main.ts` and gets a transcript (pocketsphinx, on a constrained vocabulary
 * given as a JSGF grammar), the text reply, and spoken sentences whose WAV
 * headers and durations `soxi` accepts, in order, `synthesis_complete` last.
 */
import assert from "node:assert/strict";
import { hasPythonWebsockets, PYTHON } from "../helpers/python.ts";
import { startServerProcess } from "../helpers/server_process.ts";
import { hasVoiceEngines, phraseGrammar, warnIfMissing } from "../helpers/voice_engines.ts";

warnIfMissing("tests/server/python_voice_test.ts");
const PHRASE = "what is two plus two";

function soxi(flag: string, file: string): string {
  const out = new Deno.Command("soxi", { args: [flag, file], stdout: "piped", stderr: "piped" })
    .outputSync();
  assert.ok(out.success, `soxi refused ${file}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trim();
}

Deno.test({
  name: "a Python client speaks to main.ts and hears the reply, sentence by sentence",
  ignore: !hasVoiceEngines || !hasPythonWebsockets,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "yychat-py-voice-" });
    const server = await startServerProcess();
    try {
      const input = `${dir}/input.wav`;
      const spoken = new Deno.Command("espeak-ng", { args: ["-w", input, PHRASE] }).outputSync();
      assert.ok(spoken.success);
      await Deno.writeTextFile(`${dir}/grammar.jsgf`, phraseGrammar([PHRASE]));
      const out = await new Deno.Command(PYTHON, {
        args: [
          new URL("../fixtures/voice_client.py", import.meta.url).pathname,
          server.ws,
          input,
          dir,
          `${dir}/grammar.jsgf`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(60_000),
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
      const events = JSON.parse(new TextDecoder().decode(out.stdout)) as Record<string, unknown>[];
      const types = events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 4), [
        "audio_processing_start",
        "transcription_result",
        "processing_start",
        "stream_start",
      ]);
      assert.equal(events[1]!.text, PHRASE);
      assert.ok(types.includes("stream_end"));
      assert.equal(types.at(-1), "synthesis_complete");
      const audio = events.filter((e) => e.type === "audio_stream");
      assert.ok(audio.length >= 1);
      assert.deepEqual(audio.map((e) => e.segment), audio.map((_, i) => i + 1));
      assert.equal(events.at(-1)!.segments, audio.length);
      for (const a of audio) {
        const file = String(a.audio);
        assert.equal(soxi("-t", file), "wav");
        assert.equal(Number(soxi("-r", file)), a.sample_rate);
        assert.ok(Number(soxi("-D", file)) > 0.1, `${file} has a real duration`);
      }
    } finally {
      assert.equal(await server.stop(), 0);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
