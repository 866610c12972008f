import assert from "node:assert/strict";
import type { ChatRunner, EngineEvent, EngineRequest } from "../../src/core/chat.ts";
import { ChatError } from "../../src/core/errors.ts";
import { silentLogger } from "../../src/core/logger.ts";
import {
  type GenerationEvent,
  GenerationRegistry,
  type GenerationSpec,
  MemoryEventLog,
  type ResumeInfo,
  type ResumeSubscriber,
} from "../../src/generations/mod.ts";
import { FakeClock } from "../helpers/fake_clock.ts";

/** A runner the test drives by hand: each `say()` is one delta, `end()` finishes. */
class HandRunner implements ChatRunner {
  readonly signals: AbortSignal[] = [];
  #queue: (EngineEvent | "end")[] = [];
  #wake: (() => void) | undefined;
  #text = "";

  say(content: string): void {
    this.#text += content;
    this.#push({ type: "delta", content });
  }

  end(): void {
    this.#push({ type: "done", finishReason: "stop", content: this.#text, model: "m" });
    this.#push("end");
  }

  #push(item: EngineEvent | "end"): void {
    this.#queue.push(item);
    this.#wake?.();
  }

  async *run(_request: EngineRequest, { signal }: { signal: AbortSignal }) {
    this.signals.push(signal);
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve());
    });
    for (;;) {
      while (this.#queue.length === 0 || signal.aborted) {
        if (signal.aborted) throw new ChatError("cancelled", "cancelled");
        await Promise.race([new Promise<void>((r) => this.#wake = r), aborted]);
        if (signal.aborted) throw new ChatError("cancelled", "cancelled");
      }
      const item = this.#queue.shift()!;
      if (item === "end") return;
      yield item;
    }
  }
}

/** Collects events (and the resume info) like a socket would. */
class Sink implements ResumeSubscriber {
  events: GenerationEvent[] = [];
  info: ResumeInfo | undefined;
  ended = false;
  open = true;
  push(event: GenerationEvent): boolean {
    if (this.open) this.events.push(event);
    return this.open;
  }
  resumed(info: ResumeInfo): void {
    this.info = info;
  }
  finished(): void {
    this.ended = true;
  }
  get text(): string {
    return this.events.map((e) => e.type === "chunk" ? e.content : "").join("");
  }
}

/** Lets the generation run and its chunk coalescer (a macrotask) flush. */
const tick = () => new Promise((r) => setTimeout(r, 5));

function setup(
  options: { maxBytes?: number; detachedLimitMs?: number; maxSubscribers?: number } = {},
) {
  const clock = new FakeClock();
  const runner = new HandRunner();
  const log = new MemoryEventLog({
    maxBytesPerGeneration: options.maxBytes ?? 1 << 20,
    maxTotalBytes: 1 << 24,
    resumeWindowMs: 60_000,
  });
  const registry = new GenerationRegistry({
    runner,
    log,
    clock,
    logger: silentLogger,
    nodeId: "n1",
    maxChunkChars: 1000,
    detachedLimitMs: options.detachedLimitMs ?? 120_000,
    maxSubscribers: options.maxSubscribers ?? 8,
  });
  const spec = (fields: Partial<GenerationSpec> = {}): GenerationSpec => ({
    requestId: "r1",
    principal: "key_a",
    door: "ws",
    request: { messages: [{ role: "user", content: "hi" }], useTools: false, namespace: "key_a" },
    stream: true,
    toolEvents: false,
    onDisconnect: "continue",
    ...fields,
  });
  return { clock, runner, log, registry, spec };
}

Deno.test("GenerationRegistry numbers events once and resumes after last_seq without gap or duplicate", async () => {
  const { runner, registry, spec } = setup();
  try {
    const first = new Sink();
    const { resumeToken, attachment } = registry.start(spec(), () => first);
    await tick();
    runner.say("Hello");
    await tick();
    runner.say(" there");
    await tick();
    assert.deepEqual(first.events.map((e) => [e.seq, e.type]), [
      [1, "processing_start"],
      [2, "stream_start"],
      [3, "chunk"],
      [4, "chunk"],
    ]);
    // The socket drops after seq 3 reached the client; the reply runs on.
    attachment.detach("disconnect");
    runner.say(", friend");
    await tick();
    const again = new Sink();
    await registry.resume(
      { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 3 },
      again,
    );
    assert.deepEqual(again.info, { recovered: true, stream: true, status: "running", topSeq: 5 });
    runner.say("!");
    runner.end();
    await registry.settled();
    assert.deepEqual(again.events.map((e) => e.seq), [4, 5, 6, 7]);
    assert.equal(again.text, " there, friend!");
    const end = again.events.at(-1)!;
    assert.equal(end.type, "end");
    assert.equal(end.type === "end" && end.content, "Hello there, friend!");
    assert.equal(again.ended, true);
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry: a resume that races live events delivers each exactly once", async () => {
  const { runner, registry, spec } = setup();
  try {
    const { resumeToken } = registry.start(spec(), () => new Sink());
    await tick();
    for (let i = 0; i < 20; i++) runner.say(`${i} `);
    await tick();
    // Events keep coming while the resume reads the log.
    const late = new Sink();
    const resumed = registry.resume(
      { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 0 },
      late,
    );
    for (let i = 20; i < 40; i++) runner.say(`${i} `);
    await resumed;
    runner.end();
    await registry.settled();
    const seqs = late.events.map((e) => e.seq);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), "1..n, once each");
    assert.equal(late.text, Array.from({ length: 40 }, (_, i) => `${i} `).join(""));
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry answers resume_unavailable for a wrong token, another principal or an unknown id", async () => {
  const { runner, registry, spec } = setup();
  try {
    const { resumeToken } = registry.start(spec(), () => new Sink());
    await tick();
    const cases = [
      { principal: "key_a", requestId: "r1", token: "not-the-token", afterSeq: 0 },
      { principal: "key_b", requestId: "r1", token: resumeToken, afterSeq: 0 },
      { principal: "key_a", requestId: "r2", token: resumeToken, afterSeq: 0 },
    ];
    for (const request of cases) {
      await assert.rejects(
        registry.resume(request, new Sink()),
        (err: unknown) => err instanceof ChatError && err.code === "resume_unavailable",
      );
    }
    runner.end();
    await registry.settled();
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry replays a finished generation, and forgets it after the window", async () => {
  const { clock, runner, registry, spec } = setup();
  try {
    const { resumeToken } = registry.start(spec({ stream: false }), () => new Sink());
    await tick();
    runner.say("All done");
    runner.end();
    await registry.settled();
    const request = { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 1 };
    const late = new Sink();
    await registry.resume(request, late);
    assert.equal(late.info?.status, "done");
    assert.equal(late.info?.stream, false);
    assert.deepEqual(late.events.map((e) => e.type), ["end"]);
    assert.equal(late.ended, true);
    clock.advance(60_001);
    await assert.rejects(registry.resume(request, new Sink()), /unknown, expired/);
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry sends a snapshot when the log no longer holds what the client missed", async () => {
  const { runner, registry, spec } = setup({ maxBytes: 2000 });
  try {
    const { resumeToken } = registry.start(spec(), () => new Sink());
    await tick();
    const parts = Array.from({ length: 30 }, (_, i) => `part ${i} ${"x".repeat(30)}|`);
    for (const p of parts) {
      runner.say(p);
      await tick(); // one chunk each
    }
    const late = new Sink();
    await registry.resume(
      { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 2 },
      late,
    );
    assert.equal(late.info?.recovered, false);
    assert.equal(late.info?.snapshot?.content, parts.join(""));
    assert.equal(late.info?.snapshot?.seq, 32, "the last chunk");
    runner.say("tail");
    runner.end();
    await registry.settled();
    assert.equal(late.text, "tail", "only what follows the snapshot");
    assert.ok(late.events.every((e) => e.seq > 32));
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry cancels a generation nobody listens to after the detached limit", async () => {
  const { clock, runner, registry, spec } = setup({ detachedLimitMs: 10_000 });
  try {
    const { attachment } = registry.start(spec(), () => new Sink());
    await tick();
    runner.say("partial");
    attachment.detach("disconnect");
    clock.advance(9_000);
    assert.equal(runner.signals[0]!.aborted, false, "still within the limit");
    clock.advance(6_000);
    assert.equal(runner.signals[0]!.aborted, true);
    await registry.settled();
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry: on_disconnect cancel stops a generation when its last subscriber leaves", async () => {
  const { runner, registry, spec } = setup();
  try {
    const a = new Sink();
    const b = new Sink();
    const { attachment, resumeToken } = registry.start(spec({ onDisconnect: "cancel" }), () => a);
    await tick();
    const second = await registry.resume(
      { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 0 },
      b,
    );
    attachment.detach("disconnect");
    assert.equal(runner.signals[0]!.aborted, false, "one subscriber still listens");
    second.detach("disconnect");
    assert.equal(runner.signals[0]!.aborted, true);
    await registry.settled();
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry: any subscriber may cancel; every subscriber sees the end", async () => {
  const { runner, registry, spec } = setup({ maxSubscribers: 2 });
  try {
    const a = new Sink();
    const b = new Sink();
    const { resumeToken } = registry.start(spec(), () => a);
    await tick();
    runner.say("Once upon");
    const request = { principal: "key_a", requestId: "r1", token: resumeToken, afterSeq: 0 };
    const fromB = await registry.resume(request, b);
    await assert.rejects(
      registry.resume(request, new Sink()),
      (err: unknown) => err instanceof ChatError && err.code === "too_many_subscribers",
    );
    fromB.cancel();
    await registry.settled();
    for (const sink of [a, b]) {
      const end = sink.events.at(-1)!;
      assert.equal(end.type === "end" && end.finishReason, "cancelled");
      assert.equal(end.type === "end" && end.content, "Once upon");
    }
  } finally {
    await registry.close();
  }
});

Deno.test("GenerationRegistry refuses a running request_id, and a finished one's id starts afresh", async () => {
  const { runner, registry, spec } = setup();
  try {
    const first = registry.start(spec(), () => new Sink());
    assert.throws(
      () => registry.start(spec(), () => new Sink()),
      (err: unknown) => err instanceof ChatError && err.code === "duplicate_request_id",
    );
    // Another principal may use the same id.
    registry.start(spec({ principal: "key_b" }), () => new Sink()).attachment.cancel();
    await tick();
    runner.end();
    await registry.settled();
    const second = registry.start(spec(), () => new Sink());
    await assert.rejects(
      registry.resume(
        { principal: "key_a", requestId: "r1", token: first.resumeToken, afterSeq: 0 },
        new Sink(),
      ),
      /unknown, expired/,
      "the old token no longer opens anything",
    );
    second.attachment.cancel();
    await registry.settled();
  } finally {
    await registry.close();
  }
});
