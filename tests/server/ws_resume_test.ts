/**
 * Resumable replies over the real WebSocket path (SPEC §9): a reply outlives
 * the socket that asked for it, any socket of the same key picks it up with
 * no gap and no duplicate, cancel works from any subscriber, and the limits
 * (detached, window, log size) hold.
 */
import assert from "node:assert/strict";
import { textReply } from "../helpers/openai_mock.ts";
import { withMockedServer as withServer } from "../helpers/mocked_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";

const WORDS = Array.from({ length: 40 }, (_, i) => `word${i} `);

/** A slow reply: one word every `ms`. */
const slowReply = (ms = 15) => textReply(WORDS.join(""), { chunkDelayMs: ms });

const text = (events: Event[]) =>
  events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");

Deno.test("a reply survives its socket: resume on a new one gets the rest, no gap, no duplicate, stored once", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply());
    const a = (await TestClient.connect(server.ws)).client;
    a.send({ type: "text_message", content: "tell me", request_id: "r1", conversation_id: "c1" });
    const start = await a.next();
    assert.equal(start.type, "processing_start");
    const token = String(start.resume_token);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/, "256 random bits, base64url");
    const seen: Event[] = [start];
    while (seen.filter((e) => e.type === "stream_chunk").length < 3) seen.push(await a.next());
    const lastSeq = Number(seen.at(-1)!.seq);
    await a.close();

    const b = (await TestClient.connect(server.ws)).client;
    try {
      b.send({ type: "resume", request_id: "r1", resume_token: token, last_seq: lastSeq });
      const ok = await b.next();
      assert.equal(ok.type, "resume_ok");
      assert.equal(ok.recovered, true);
      assert.equal(ok.status, "running");
      const rest = await b.until("stream_end");
      const seqs = rest.map((e) => Number(e.seq));
      assert.deepEqual(
        seqs,
        Array.from({ length: seqs.length }, (_, i) => lastSeq + 1 + i),
        "every seq after last_seq, once, in order",
      );
      assert.equal(text(seen) + text(rest), WORDS.join(""));
      assert.equal(rest.at(-1)!.full_content, WORDS.join(""));
    } finally {
      await b.close();
    }
    const stored = await server.app.services.memory.list("", "c1");
    assert.deepEqual(stored.map((m) => m.role), ["user", "assistant"]);
    assert.equal(mock.completionRequests.length, 1, "the provider was asked once");
  });
});

Deno.test("a reply nobody listens to is still stored when it completes", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(5));
    const a = (await TestClient.connect(server.ws)).client;
    a.send({ type: "text_message", content: "and then?", conversation_id: "walked-away" });
    await a.next();
    await a.close();
    await waitFor(() => server.app.generations.running === 0, 10_000, "the reply to finish");
    const stored = await server.app.services.memory.list("", "walked-away");
    assert.equal(stored.at(-1)!.content, WORDS.join(""));
    assert.equal(mock.completionRequests[0]!.aborted, false);
  });
});

Deno.test("several sockets follow one reply; cancel from the second stops it for both", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(30));
    const a = (await TestClient.connect(server.ws)).client;
    const b = (await TestClient.connect(server.ws)).client;
    try {
      a.send({ type: "text_message", content: "go", request_id: "shared" });
      const start = await a.next();
      await a.until("stream_chunk");
      b.send({
        type: "resume",
        request_id: "shared",
        resume_token: start.resume_token,
        last_seq: 0,
      });
      assert.equal((await b.next()).type, "resume_ok");
      const replayed = await b.until("stream_chunk");
      assert.equal(replayed[0]!.type, "processing_start");
      assert.equal(replayed[0]!.resume_token, undefined, "a replayed copy carries no token");
      b.send({ type: "cancel", request_id: "shared" });
      const endA = (await a.until("stream_end")).at(-1)!;
      const endB = (await b.until("stream_end")).at(-1)!;
      for (const end of [endA, endB]) assert.equal(end.finish_reason, "cancelled");
      assert.equal(endA.seq, endB.seq);
      await mock.waitForAbort();
    } finally {
      await a.close();
      await b.close();
    }
  });
});

Deno.test("resume is refused alike for a wrong token, another key, or an unknown id", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(5));
    const mine = new TestClient(server.ws, ["yychat", "bearer.key-one-123"]);
    await mine.opened;
    await mine.next();
    const other = new TestClient(server.ws, ["yychat", "bearer.key-two-456"]);
    await other.opened;
    await other.next();
    try {
      mine.send({ type: "text_message", content: "secret", request_id: "p1" });
      const token = (await mine.next()).resume_token;
      const attempts: [TestClient, Record<string, unknown>][] = [
        [mine, { request_id: "p1", resume_token: "guess", last_seq: 0 }],
        [other, { request_id: "p1", resume_token: token, last_seq: 0 }],
        [mine, { request_id: "nope", resume_token: token, last_seq: 0 }],
      ];
      const messages = new Set<string>();
      for (const [client, fields] of attempts) {
        client.send({ type: "resume", ...fields });
        const e = (await client.until("error")).at(-1)!;
        const error = e.error as { code: string; message: string };
        assert.equal(error.code, "resume_unavailable");
        messages.add(error.message.replace(/"[^"]*"/, "ID"));
      }
      assert.equal(messages.size, 1, "one answer for every failure: no oracle");
      await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
    } finally {
      await mine.close();
      await other.close();
    }
  }, { YYCHAT_API_KEY: "key-one-123,key-two-456" });
});

Deno.test("a finished reply replays within the window, then resume_unavailable", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(textReply("Short and done."));
    const a = (await TestClient.connect(server.ws)).client;
    try {
      a.send({ type: "text_message", content: "hi", request_id: "done1", stream: false });
      const start = await a.next();
      const response = await a.next();
      assert.equal(response.type, "text_response");
      a.send({
        type: "resume",
        request_id: "done1",
        resume_token: start.resume_token,
        last_seq: 1,
      });
      const ok = await a.next();
      assert.deepEqual([ok.type, ok.status, ok.recovered], ["resume_ok", "done", true]);
      const again = await a.next();
      assert.deepEqual([again.type, again.content, again.seq], [
        "text_response",
        "Short and done.",
        response.seq,
      ]);
      await new Promise((r) => setTimeout(r, 600));
      server.app.generations.sweep();
      const late = await a.request({
        type: "resume",
        request_id: "done1",
        resume_token: start.resume_token,
        last_seq: 0,
      });
      assert.equal((late.error as { code: string }).code, "resume_unavailable");
    } finally {
      await a.close();
    }
  }, { STREAM_RESUME_WINDOW: "0.5" });
});

Deno.test("a trimmed log resumes with a stream_snapshot, then the events after it", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(10));
    const a = (await TestClient.connect(server.ws)).client;
    a.send({ type: "text_message", content: "go", request_id: "big" });
    const token = (await a.next()).resume_token;
    await a.close();
    // Let much of the reply pass while nobody listens, so its oldest events are trimmed.
    await new Promise((r) => setTimeout(r, 300));
    const b = (await TestClient.connect(server.ws)).client;
    try {
      b.send({ type: "resume", request_id: "big", resume_token: token, last_seq: 0 });
      const ok = await b.next();
      assert.equal(ok.recovered, false);
      const snapshot = await b.next();
      assert.equal(snapshot.type, "stream_snapshot");
      const rest = await b.until("stream_end");
      assert.ok(rest.every((e) => Number(e.seq) > Number(snapshot.seq)));
      assert.equal(String(snapshot.content) + text(rest), WORDS.join(""));
    } finally {
      await b.close();
    }
  }, { STREAM_RESUME_MAX_BYTES: "1024" });
});

Deno.test("a detached reply is cancelled after STREAM_DETACHED_LIMIT, and nothing is stored", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(50));
    const a = (await TestClient.connect(server.ws)).client;
    a.send({ type: "text_message", content: "long one", conversation_id: "abandoned" });
    await a.next();
    await a.close();
    await mock.waitForAbort(5000);
    await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
    assert.deepEqual(await server.app.services.memory.list("", "abandoned"), []);
    assert.ok(
      server.logs.some((l) => l.includes('"event":"generation"') && l.includes("cancelled")),
    );
  }, { STREAM_DETACHED_LIMIT: "0.2" });
});

Deno.test("on_disconnect: cancel stops the reply when its socket goes", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(slowReply(50));
    const a = (await TestClient.connect(server.ws)).client;
    a.send({ type: "text_message", content: "go", on_disconnect: "cancel" });
    await a.until("stream_chunk");
    await a.close();
    await mock.waitForAbort(5000);
    await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
  });
});
