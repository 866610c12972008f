import assert from "node:assert/strict";
import { ChatError } from "../../src/core/errors.ts";
import type {
  SpokenSegment,
  SynthesizedSpeech,
  SynthesizeOptions,
  TextToSpeech,
  TtsStatus,
} from "../../src/core/speech.ts";
import { EspeakTts } from "../../src/voice/espeak_tts.ts";
import { speakDeltas, SpeechPipeline } from "../../src/voice/pipeline.ts";
import { parseWav } from "../../src/voice/wav.ts";
import { hasEspeak, warnIfMissing } from "../helpers/voice_engines.ts";

warnIfMissing("tests/voice/pipeline_test.ts");

/**
 * A scripted TTS: the "audio" of a sentence is its UTF-8 text; each
 * synthesis waits until the test releases it (or a delay passes), so tests
 * decide the timing. Records calls, concurrency and aborts.
 */
class FakeTts implements TextToSpeech {
  readonly offline = true;
  readonly model = "fake-tts";
  readonly defaultVoice = "fake";
  readonly calls: string[] = [];
  readonly aborted: string[] = [];
  running = 0;
  maxRunning = 0;
  #gates: (() => void)[] = [];
  constructor(readonly options: { manual?: boolean; failOn?: string; delayMs?: number } = {}) {}
  models() {
    return [];
  }
  voices() {
    return Promise.resolve([]);
  }
  status(): Promise<TtsStatus> {
    return Promise.resolve({ available: true, formats: ["pcm"] });
  }
  /** Lets the oldest waiting synthesis finish. */
  release(): void {
    this.#gates.shift()?.();
  }
  get waiting(): number {
    return this.#gates.length;
  }
  async synthesize(text: string, options: SynthesizeOptions): Promise<SynthesizedSpeech> {
    this.calls.push(text);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.aborted.push(text);
          reject(new ChatError("cancelled", "aborted"));
        };
        options.signal?.addEventListener("abort", onAbort, { once: true });
        const done = () => {
          options.signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        if (this.options.manual) this.#gates.push(done);
        else setTimeout(done, this.options.delayMs ?? 0);
      });
      if (text === this.options.failOn) {
        throw new ChatError("audio_engine_error", `cannot say "${text}"`);
      }
    } finally {
      this.running--;
    }
    const bytes = new TextEncoder().encode(text);
    return {
      format: options.format,
      sampleRate: 24000,
      contentType: "audio/pcm",
      voice: options.voice ?? this.defaultVoice,
      model: this.model,
      chunks: (async function* () {
        yield bytes.subarray(0, 2);
        yield bytes.subarray(2);
      })(),
    };
  }
}

async function* deltas(parts: string[], delayMs = 0): AsyncGenerator<string> {
  for (const p of parts) {
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
    yield p;
  }
}

const text = (s: SpokenSegment) => new TextDecoder().decode(s.audio);

Deno.test("SpeechPipeline speaks sentence by sentence, strictly in order", async () => {
  const tts = new FakeTts({ delayMs: 5 });
  const segments: SpokenSegment[] = [];
  const stream = ["Hel", "lo there. ", "How are", " you? Fine", ", thanks. ", "你好。", "再见"];
  for await (const s of speakDeltas(deltas(stream, 2), { tts, format: "pcm", voice: "v1" })) {
    segments.push(s);
  }
  assert.deepEqual(segments.map((s) => [s.segment, s.text, text(s)]), [
    [1, "Hello there.", "Hello there."],
    [2, "How are you?", "How are you?"],
    [3, "Fine, thanks.", "Fine, thanks."],
    [4, "你好。", "你好。"],
    [5, "再见", "再见"],
  ]);
  assert.equal(segments[0]!.format, "pcm");
  assert.equal(segments[0]!.sample_rate, 24000);
  assert.equal(tts.maxRunning, 1, "one synthesis at a time");
});

Deno.test("SpeechPipeline starts the first sentence while the text is still streaming", async () => {
  const tts = new FakeTts({ manual: true });
  const pipeline = new SpeechPipeline({ tts, format: "pcm" });
  const it = pipeline[Symbol.asyncIterator]();
  pipeline.push("First sentence here. Second");
  await waitUntil(() => tts.calls.length === 1);
  assert.deepEqual(tts.calls, ["First sentence here."]);
  tts.release();
  const first = await it.next();
  assert.equal(first.done, false);
  assert.equal((first.value as SpokenSegment).text, "First sentence here.");
  pipeline.push(" one is longer.");
  pipeline.end();
  await waitUntil(() => tts.waiting === 1);
  tts.release();
  assert.equal(((await it.next()).value as SpokenSegment).text, "Second one is longer.");
  assert.equal((await it.next()).done, true);
  assert.equal(pipeline.segments, 2);
});

Deno.test("SpeechPipeline synthesises ahead only up to its buffer", async () => {
  const tts = new FakeTts();
  const pipeline = new SpeechPipeline({ tts, format: "pcm", maxBufferedSegments: 2 });
  pipeline.push("One. Two. Three. Four. Five. ");
  pipeline.end();
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(tts.calls, ["One.", "Two."], "nothing more until the consumer takes one");
  const it = pipeline[Symbol.asyncIterator]();
  assert.equal(((await it.next()).value as SpokenSegment).text, "One.");
  await waitUntil(() => tts.calls.length === 3);
  const rest: string[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value.text);
  assert.deepEqual(rest, ["Two.", "Three.", "Four.", "Five."]);
});

Deno.test("SpeechPipeline.abort() stops at once: no stale audio after it", async () => {
  const tts = new FakeTts({ manual: true });
  const pipeline = new SpeechPipeline({ tts, format: "pcm" });
  const it = pipeline[Symbol.asyncIterator]();
  pipeline.push("One. Two. Three. Four. ");
  await waitUntil(() => tts.waiting === 1);
  tts.release(); // "One." is ready
  await waitUntil(() => tts.waiting === 1); // "Two." is being synthesised
  const pending = it.next(); // takes "One."
  assert.equal(((await pending).value as SpokenSegment).text, "One.");
  const waiting = it.next(); // would wait for "Two."
  pipeline.abort();
  assert.deepEqual(await waiting, { done: true, value: undefined });
  assert.deepEqual(tts.aborted, ["Two."], "the running synthesis was told to stop");
  pipeline.push("Five. ");
  pipeline.end();
  assert.equal((await it.next()).done, true);
  assert.deepEqual(tts.calls, ["One.", "Two."], "nothing is synthesised after the abort");
});

Deno.test("SpeechPipeline stops when its signal aborts or its consumer leaves", async (t) => {
  await t.step("signal", async () => {
    const tts = new FakeTts({ manual: true });
    const ac = new AbortController();
    const got: string[] = [];
    const consuming = (async () => {
      for await (
        const s of speakDeltas(deltas(["A b. C d. E f."]), {
          tts,
          format: "pcm",
          signal: ac.signal,
        })
      ) {
        got.push(s.text);
      }
    })();
    await waitUntil(() => tts.waiting === 1);
    tts.release();
    await waitUntil(() => got.length === 1 && tts.waiting === 1);
    ac.abort();
    await consuming;
    assert.deepEqual(got, ["A b."]);
    assert.deepEqual(tts.aborted, ["C d."]);
  });
  await t.step("consumer breaks out", async () => {
    const tts = new FakeTts({ manual: true });
    const pipeline = new SpeechPipeline({ tts, format: "pcm" });
    pipeline.push("A b. C d. E f.");
    pipeline.end();
    await waitUntil(() => tts.waiting === 1);
    tts.release();
    for await (const _ of pipeline) break;
    assert.equal(pipeline.aborted, true);
    await waitUntil(() => tts.aborted.length === 1);
    assert.deepEqual(tts.aborted, ["C d."]);
  });
});

Deno.test("SpeechPipeline reports a synthesis failure after the segments before it", async () => {
  const tts = new FakeTts({ failOn: "Two." });
  const got: string[] = [];
  await assert.rejects(
    async () => {
      for await (const s of speakDeltas(deltas(["One. Two. Three."]), { tts, format: "pcm" })) {
        got.push(s.text);
      }
    },
    (err: unknown) => err instanceof ChatError && err.code === "audio_engine_error",
  );
  assert.deepEqual(got, ["One."]);
  assert.ok(!tts.calls.includes("Three."), "nothing after the failure is synthesised");
});

Deno.test("speakDeltas() speaks what came before a failing text stream, then throws", async () => {
  const tts = new FakeTts();
  async function* broken() {
    yield "Said before. Half";
    throw new Error("model stream broke");
  }
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const s of speakDeltas(broken(), { tts, format: "pcm" })) got.push(s.text);
  }, /model stream broke/);
  assert.deepEqual(got, ["Said before.", "Half"]);
});

Deno.test({
  name: "SpeechPipeline speaks through espeak-ng: one complete WAV per sentence",
  ignore: !hasEspeak,
  async fn() {
    const tts = new EspeakTts({ idleTimeoutMs: 10_000 });
    const segments: SpokenSegment[] = [];
    const text = ["Hello **there**. ", "This is `yychat`", " speaking. 你好，", "世界。"];
    for await (const s of speakDeltas(deltas(text), { tts, format: "wav" })) segments.push(s);
    assert.deepEqual(segments.map((s) => s.text), [
      "Hello there.",
      "This is speaking.",
      "你好，世界。",
    ]);
    for (const s of segments) {
      assert.equal(s.format, "wav");
      assert.equal(s.sample_rate, 22050);
      const wav = parseWav(s.audio);
      assert.equal(wav.sampleRate, 22050);
      assert.equal(
        wav.dataOffset + wav.dataLength,
        s.audio.length,
        "the header has the real sizes",
      );
      assert.ok(wav.durationSeconds > 0.3 && wav.durationSeconds < 5, `${wav.durationSeconds} s`);
    }
  },
});

async function waitUntil(cond: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 2));
  }
}
