import assert from "node:assert/strict";
import type { SpeechStream, SpokenSegment } from "../../src/core/speech.ts";
import { ChatError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import {
  type GenerationEvent,
  GenerationRegistry,
  type GenerationSpec,
  MemoryEventLog,
  type Subscriber,
} from "../../src/generations/mod.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { ScriptedEngine, type Step } from "../helpers/fake_engine.ts";

/** Speaks each sentence (split on ". ") as it completes, after `delayMs`; records what it heard. */
class FakeSpeech implements SpeechStream {
  heard = "";
  #queue: SpokenSegment[] = [];
  #ended = false;
  #aborted = false;
  #failAt: number | undefined;
  #wake: (() => void) | undefined;
  #count = 0;
  delivered = 0;

  constructor(readonly signal: AbortSignal, options: { failAt?: number } = {}) {
    this.#failAt = options.failAt;
    signal.addEventListener("abort", () => this.abort());
  }

  get aborted(): boolean {
    return this.#aborted;
  }
  get segments(): number {
    return this.delivered;
  }
  push(delta: string): void {
    this.heard += delta;
    const parts = this.heard.split(". ");
    while (this.#count < parts.length - 1) this.#say(parts[this.#count]! + ".");
  }
  end(): void {
    const parts = this.heard.split(". ");
    if (this.#count < parts.length && parts.at(-1)!.trim()) this.#say(parts.at(-1)!);
    this.#ended = true;
    this.#wake?.();
  }
  abort(): void {
    this.#aborted = true;
    this.#queue = [];
    this.#wake?.();
  }
  #say(text: string): void {
    this.#count++;
    this.#queue.push({
      segment: this.#count,
      text,
      format: "wav",
      sample_rate: 22050,
      audio: new TextEncoder().encode(`audio of ${text}`),
    });
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<SpokenSegment> {
    for (;;) {
      if (this.#aborted) return;
      const next = this.#queue.shift();
      if (next) {
        if (this.#failAt === next.segment) {
          throw new ChatError("audio_engine_error", "The speech engine broke");
        }
        await new Promise((r) => setTimeout(r, 5));
        if (this.#aborted) return;
        this.delivered++;
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((r) => this.#wake = r);
    }
  }
}

class Sink implements Subscriber {
  events: GenerationEvent[] = [];
  push(e: GenerationEvent): boolean {
    this.events.push(e);
    return true;
  }
}

function setup(steps: Step[], resumeWindowMs = 60_000) {
  const engine = new ScriptedEngine(steps);
  const registry = new GenerationRegistry({
    runner: engine,
    log: new MemoryEventLog({
      maxBytesPerGeneration: 1 << 20,
      maxTotalBytes: 1 << 24,
      resumeWindowMs,
    }),
    clock: new FakeClock(),
    logger: silentLogger,
    nodeId: "n",
    maxChunkChars: 1000,
    detachedLimitMs: 60_000,
    maxSubscribers: 4,
  });
  const spec = (fields: Partial<GenerationSpec>): GenerationSpec => ({
    requestId: "v1",
    principal: "",
    door: "ws",
    request: { messages: [{ role: "user", content: "hi" }], useTools: false, namespace: "" },
    stream: true,
    toolEvents: false,
    onDisconnect: "continue",
    ...fields,
  });
  return { registry, spec, engine };
}

const TEXT = ["It is late. ", "The moon is up. ", "Good night."];
const reply = (pauseMs = 0): Step[] => [
  ...TEXT.flatMap((t): Step[] => [{ type: "delta", content: t }, { type: "pause", ms: pauseMs }]),
  { type: "done", finishReason: "stop", content: TEXT.join(""), model: "m" },
];

Deno.test("Generation speaks its reply sentence by sentence, in order, synthesis_complete last", async () => {
  const { registry, spec } = setup(reply(10));
  const sink = new Sink();
  let speech: FakeSpeech | undefined;
  registry.start(spec({ speech: (signal) => speech = new FakeSpeech(signal) }), () => sink);
  await registry.settled();
  await registry.close();
  const types = sink.events.map((e) => e.type);
  assert.equal(types.at(-1), "synthesis_complete");
  const audio = sink.events.filter((e) => e.type === "audio");
  assert.deepEqual(audio.map((e) => e.type === "audio" && e.segment), [1, 2, 3]);
  assert.deepEqual(audio.map((e) => e.type === "audio" && e.text), TEXT.map((t) => t.trim()));
  const first = audio[0]!;
  assert.equal(first.type === "audio" && atob(first.audio), "audio of It is late.");
  // The first sentence is spoken while the text still streams.
  assert.ok(types.indexOf("audio") < types.indexOf("end"), types.join());
  const complete = sink.events.at(-1)!;
  assert.deepEqual(complete.type === "synthesis_complete" && complete.segments, 3);
  assert.equal(speech!.heard, TEXT.join(""));
  const seqs = sink.events.map((e) => e.seq);
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
});

Deno.test("Generation: cancel stops the text and the speech at once", async () => {
  const { registry, spec } = setup([
    { type: "delta", content: "It is late. The moon " },
    { type: "pause", ms: 10_000 },
    { type: "done", finishReason: "stop", content: "x", model: "m" },
  ]);
  const sink = new Sink();
  const { attachment } = registry.start(
    spec({ speech: (signal) => new FakeSpeech(signal) }),
    () => sink,
  );
  while (!sink.events.some((e) => e.type === "audio")) await new Promise((r) => setTimeout(r, 2));
  attachment.cancel();
  await registry.settled();
  await registry.close();
  const types = sink.events.map((e) => e.type);
  const end = sink.events.find((e) => e.type === "end")!;
  assert.equal(end.type === "end" && end.finishReason, "cancelled");
  assert.equal(types.filter((t) => t === "audio").length, 1, "no audio after the cancel");
  assert.equal(types.at(-1), "synthesis_complete");
});

Deno.test("Generation: a speech failure ends the speech with an error, not the reply", async () => {
  const { registry, spec } = setup(reply());
  const sink = new Sink();
  registry.start(spec({ speech: (signal) => new FakeSpeech(signal, { failAt: 2 }) }), () => sink);
  await registry.settled();
  await registry.close();
  const end = sink.events.find((e) => e.type === "end")!;
  assert.equal(end.type === "end" && end.finishReason, "stop", JSON.stringify(sink.events));
  const complete = sink.events.at(-1)!;
  assert.equal(complete.type, "synthesis_complete");
  assert.equal(
    complete.type === "synthesis_complete" && complete.error?.code,
    "audio_engine_error",
  );
  assert.ok(!sink.events.some((e) => e.type === "error"));
});

Deno.test("Generation: spoken input is transcribed first, then answered (or only transcribed)", async (t) => {
  for (const respond of [true, false]) {
    await t.step(`respond: ${respond}`, async () => {
      const { registry: real, spec, engine } = setup([
        { type: "delta", content: "Fine." },
        { type: "done", finishReason: "stop", content: "Fine.", model: "m" },
      ], 1);
      const sink = new Sink();
      real.start(
        spec({
          request: { messages: [], useTools: false, namespace: "" },
          transcription: { respond, run: () => Promise.resolve({ text: "how are you" }) },
        }),
        () => sink,
      );
      await real.settled();
      await real.close();
      const types = sink.events.map((e) => e.type);
      assert.deepEqual(types.slice(0, 2), ["audio_processing_start", "transcription"]);
      if (respond) {
        assert.deepEqual(types.slice(2), ["processing_start", "stream_start", "chunk", "end"]);
        assert.deepEqual(engine.requests[0]!.messages, [{ role: "user", content: "how are you" }]);
      } else {
        assert.equal(types.length, 2);
        assert.equal(engine.requests.length, 0);
      }
    });
  }
});
