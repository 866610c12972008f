/**
 * Resume chaos (SPEC §9): 200 clients each start a streamed reply and drop
 * their socket at random points — some several times — then resume from
 * their last `seq` on a new socket. Every reply must arrive complete and
 * exactly once: the joined text equals the reply, and the `seq`s seen are
 * 1, 2, 3, … with none missing and none twice. Seeded (`CHAOS_SEED`).
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { type Event, TestClient } from "../helpers/ws_client.ts";
import { Rng } from "./lib/rng.ts";

const CLIENTS = 200;
const WORDS = Array.from({ length: 40 }, (_, i) => `w${i} `);

Deno.test("200 clients dropping and resuming at random points each get their reply exactly once", async () => {
  const seed = Rng.seedFrom(Deno.env.get("CHAOS_SEED"));
  console.log(`resume chaos seed ${seed}`);
  const rng = new Rng(seed);
  const mock = await OpenAIMock.start();
  for (let i = 0; i < CLIENTS; i++) mock.enqueue(textReply(WORDS.join(""), { chunkDelayMs: 8 }));
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test",
    PROVIDER_MAX_RETRIES: "0",
    LOG_LEVEL: "warn",
    WS_MAX_CONNECTIONS: "1000",
    WS_MAX_CONNECTIONS_PER_IP: "1000",
  });
  let drops = 0;
  let resumes = 0;

  /** One client: start, drop up to three times at random, resume each time, read to the end. */
  async function client(n: number, plan: number[]): Promise<void> {
    const requestId = `chaos-${n}`;
    const seen: Event[] = [];
    let token: unknown;
    let socket = (await TestClient.connect(server.ws)).client;
    try {
      socket.send({ type: "text_message", content: "go", request_id: requestId });
      for (let i = 0;; i++) {
        // Read until this session's drop point (a count of events), or the end.
        const dropAfter = plan[i];
        let read = 0;
        while (dropAfter === undefined || read < dropAfter) {
          const e = await socket.next(15_000);
          if (e.type === "resume_ok") continue;
          seen.push(e);
          read++;
          token ??= e.resume_token;
          if (e.type === "stream_end" || e.type === "error") return check(n, seen);
        }
        await socket.close();
        drops++;
        socket = (await TestClient.connect(server.ws)).client;
        socket.send({
          type: "resume",
          request_id: requestId,
          resume_token: token,
          last_seq: seen.at(-1)!.seq,
        });
        resumes++;
      }
    } finally {
      await socket.close();
    }
  }

  function check(n: number, events: Event[]): void {
    const seqs = events.map((e) => Number(e.seq));
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `client ${n}: every seq once, in order`);
    const end = events.at(-1)!;
    assert.equal(end.type, "stream_end", `client ${n}: ${JSON.stringify(end)}`);
    const text = events.filter((e) => e.type === "stream_chunk").map((e) => e.content).join("");
    assert.equal(text, WORDS.join(""), `client ${n}: the whole reply, once`);
    assert.equal(end.full_content, WORDS.join(""));
  }

  try {
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => {
      const drops = rng.int(0, 3);
      return client(n, Array.from({ length: drops }, () => rng.int(1, 20)));
    }));
    console.log(`resume chaos: ${CLIENTS} replies, ${drops} drops, ${resumes} resumes`);
    assert.ok(resumes > CLIENTS / 2, "the plan dropped and resumed often");
    await waitFor(() => server.app.generations.running === 0, 10_000, "every reply to end");
    assert.equal(mock.completionRequests.length, CLIENTS, "one provider request per reply");
  } finally {
    await server.close();
    await mock.close();
  }
});
