/**
 * Resumable replies over REST (SPEC §9): SSE `id:` lines, the
 * `x-yychat-request-id`/`x-yychat-resume-token` headers, `background: true`
 * and `GET /v1/chat/completions/{id}/stream` with `Last-Event-ID` or
 * `?starting_after=N`; without `background`, a hang-up still cancels.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { textReply } from "../helpers/openai_mock.ts";
import { withMockedServer as withServer } from "../helpers/mocked_server.ts";
import type { TestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";

const WORDS = Array.from({ length: 30 }, (_, i) => `w${i} `);

interface SseRecord {
  id?: number;
  event?: string;
  data: string;
}

/** Reads SSE records from a response body until `stop` says so (or the body ends). */
async function readSse(
  body: ReadableStream<Uint8Array>,
  stop: (records: SseRecord[]) => boolean = () => false,
): Promise<SseRecord[]> {
  const records: SseRecord[] = [];
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += value;
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const record: SseRecord = { data: "" };
        for (const line of block.split("\n")) {
          if (line.startsWith("id: ")) record.id = Number(line.slice(4));
          else if (line.startsWith("event: ")) record.event = line.slice(7);
          else if (line.startsWith("data: ")) record.data = line.slice(6);
        }
        if (block.startsWith(":")) continue; // keep-alive comment
        records.push(record);
      }
      if (stop(records)) break;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return records;
}

const contentOf = (records: SseRecord[]) =>
  records.filter((r) => r.data !== "[DONE]" && !r.event).map((r) =>
    JSON.parse(r.data).choices?.[0]?.delta?.content ?? ""
  ).join("");

const post = (server: TestServer, body: unknown) =>
  fetch(`${server.http}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

Deno.test("a background completion survives a hang-up and continues from Last-Event-ID", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(textReply(WORDS.join(""), { chunkDelayMs: 15 }));
    const res = await post(server, {
      stream: true,
      background: true,
      conversation_id: "bg",
      messages: [{ role: "user", content: "go on" }],
    });
    assert.equal(res.status, 200);
    const requestId = res.headers.get("x-yychat-request-id")!;
    const token = res.headers.get("x-yychat-resume-token")!;
    assert.match(requestId, /^chatcmpl-[0-9a-f]{32}$/);
    assert.match(token, /^[A-Za-z0-9_-]{43}$/);
    // Read a few chunks, then hang up.
    const first = await readSse(res.body!, (r) => contentOf(r).split(" ").length > 4);
    assert.ok(first.every((r) => typeof r.id === "number"), "every event carries id: <seq>");
    const lastId = first.at(-1)!.id!;

    const resumed = await fetch(`${server.http}/v1/chat/completions/${requestId}/stream`, {
      headers: { "x-yychat-resume-token": token, "last-event-id": String(lastId) },
    });
    assert.equal(resumed.status, 200);
    assert.equal(resumed.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const rest = await readSse(resumed.body!);
    assert.equal(rest.at(-1)!.data, "[DONE]");
    const ids = rest.filter((r) => r.id !== undefined).map((r) => r.id!);
    assert.ok(ids.every((id) => id > lastId), "nothing the client already saw");
    assert.equal(contentOf(first) + contentOf(rest), WORDS.join(""));
    await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
    const stored = await server.app.services.memory.list("", "bg");
    assert.equal(stored.at(-1)!.content, WORDS.join(""), "stored once, whole");
    assert.equal(mock.completionRequests[0]!.aborted, false);

    // ?starting_after=N does the same after the end, within the window.
    const again = await fetch(
      `${server.http}/v1/chat/completions/${requestId}/stream?starting_after=${lastId}`,
      { headers: { "x-yychat-resume-token": token } },
    );
    assert.equal(contentOf(await readSse(again.body!)), contentOf(rest));
  });
});

Deno.test("without background, a hang-up still cancels the upstream request", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(textReply(WORDS.join(""), { chunkDelayMs: 30 }));
    const client = new OpenAI({ baseURL: `${server.http}/v1`, apiKey: "none", maxRetries: 0 });
    const ac = new AbortController();
    const stream = await client.chat.completions.create({
      model: "m",
      stream: true,
      messages: [{ role: "user", content: "go" }],
    }, { signal: ac.signal });
    let chunks = 0;
    try {
      for await (const _ of stream) if (++chunks === 3) ac.abort();
    } catch (err) {
      assert.ok(err instanceof Error && /abort/i.test(err.name + err.message), String(err));
    }
    assert.equal(chunks, 3);
    await mock.waitForAbort(5000);
    await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
  });
});

Deno.test("the resume route refuses a wrong or missing token alike", async () => {
  await withServer(async ({ mock, server }) => {
    mock.enqueue(textReply("done"));
    const res = await post(server, { stream: true, messages: [{ role: "user", content: "x" }] });
    const requestId = res.headers.get("x-yychat-request-id")!;
    await res.body!.cancel();
    const wrong = await fetch(`${server.http}/v1/chat/completions/${requestId}/stream`, {
      headers: { "x-yychat-resume-token": "guess" },
    });
    assert.equal(wrong.status, 404);
    assert.equal((await wrong.json()).error.code, "resume_unavailable");
    const missing = await fetch(`${server.http}/v1/chat/completions/${requestId}/stream`);
    assert.equal(missing.status, 400);
    assert.equal((await missing.json()).error.param, "token");
    await waitFor(() => server.app.generations.running === 0, 5000, "the reply to end");
  });
});
