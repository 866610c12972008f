/**
 * `web/yychat_client.js` in Deno (which has WebSocket, fetch and
 * EventTarget like a browser), over real sockets: against a real yychat
 * server for connecting, streaming, auth and cancel; against a scripted
 * WebSocket peer for the reconnect-and-resume rules of SPEC §9 (replays
 * de-duplicated by `seq`, `stream_snapshot`, `resume_unavailable`) and the
 * close-code table.
 */
import assert from "node:assert/strict";
import { backoffDelay, closeAction, type Reply, YychatClient } from "../../web/yychat_client.js";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";

const FAST = { initialDelayMs: 10, maxDelayMs: 40 };
const KEY = "sk-client-test-key";

/** A `Storage` kept in memory (what a page's sessionStorage is across a reload). */
class MemoryStorage {
  #items = new Map<string, string>();
  get length() {
    return this.#items.size;
  }
  key(i: number) {
    return [...this.#items.keys()][i] ?? null;
  }
  getItem(k: string) {
    return this.#items.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.#items.set(k, String(v));
  }
  removeItem(k: string) {
    this.#items.delete(k);
  }
  clear() {
    this.#items.clear();
  }
}

// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Collects a reply's events (async iteration, as a page would). */
async function drainEvents(reply: Reply): Promise<Json[]> {
  const events: Json[] = [];
  for await (const event of reply) events.push(event as Json);
  return events;
}

/** Collects a reply's events and its text right after each one (synchronous callback). */
async function drain(reply: Reply): Promise<{ events: Json[]; texts: string[] }> {
  const events: Json[] = [];
  const texts: string[] = [];
  reply.onUpdate((event, r) => {
    events.push(event as Json);
    texts.push(r.text);
  });
  await reply.finished;
  return { events, texts };
}

function states(client: YychatClient): Json[] {
  const seen: Json[] = [];
  client.addEventListener("state", (e) => seen.push((e as CustomEvent).detail));
  return seen;
}

// -------------------------------------------------------- scripted peer

interface Peer {
  socket: WebSocket;
  /** 1 for the first connection, 2 for the second… */
  n: number;
  offered: string;
  received: Json[];
  next(type: string): Promise<Json>;
  send(event: Json): void;
}

/**
 * A WebSocket server on 127.0.0.1 that speaks as much of the protocol as a
 * test scripts: it greets with `connection_established`, then `onPeer` runs.
 */
function scriptedServer(onPeer: (peer: Peer) => void | Promise<void>) {
  const ac = new AbortController();
  const sockets = new Set<WebSocket>();
  let count = 0;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    (req) => {
      if (new URL(req.url).pathname !== "/ws/chat") {
        return new Response("not here", { status: 404 });
      }
      const offered = req.headers.get("sec-websocket-protocol") ?? "";
      const { socket, response } = Deno.upgradeWebSocket(
        req,
        offered.includes("yychat") ? { protocol: "yychat" } : {},
      );
      sockets.add(socket);
      const received: Json[] = [];
      const waiters: { type: string; resolve: (m: Json) => void }[] = [];
      const peer: Peer = {
        socket,
        n: ++count,
        offered,
        received,
        next(type) {
          const seen = received.find((m) => m.type === type && !m.__taken);
          if (seen) {
            seen.__taken = true;
            return Promise.resolve(seen);
          }
          return new Promise((resolve) => waiters.push({ type, resolve }));
        },
        send(event) {
          socket.send(JSON.stringify({ timestamp: 1, client_id: `c${peer.n}`, ...event }));
        },
      };
      socket.onmessage = (e) => {
        const msg = JSON.parse(e.data);
        received.push(msg);
        const w = waiters.findIndex((x) => x.type === msg.type);
        if (w >= 0) {
          msg.__taken = true;
          waiters.splice(w, 1)[0]!.resolve(msg);
        }
      };
      socket.onopen = () => {
        peer.send({ type: "connection_established", message: "scripted" });
        Promise.resolve(onPeer(peer)).catch((err) => console.error("scripted peer failed", err));
      };
      socket.onclose = () => sockets.delete(socket);
      return response;
    },
  );
  return {
    url: `ws://127.0.0.1:${server.addr.port}/ws/chat`,
    get connections() {
      return count;
    },
    async close() {
      for (const s of sockets) s.close();
      await waitFor(() => sockets.size === 0, 2000, "scripted sockets to close");
      ac.abort();
      await server.finished;
    },
  };
}

/** Closes the client and waits until its socket is gone server-side. */
async function closeClient(
  client: YychatClient,
  server?: { app: { supervisor: { size: number } } },
) {
  client.close();
  if (server) {
    await waitFor(() => server.app.supervisor.size === 0, 3000, "the server to drop the socket");
  }
}

/**
 * A client of a scripted peer (no storage and fast reconnects unless
 * `options` says otherwise), not connected yet; both are closed after `fn`.
 */
async function withScripted(
  script: (peer: Peer) => void | Promise<void>,
  fn: (client: YychatClient, peer: ReturnType<typeof scriptedServer>) => Promise<void>,
  options: ConstructorParameters<typeof YychatClient>[0] = {},
): Promise<void> {
  const peer = scriptedServer(script);
  const client = new YychatClient({ url: peer.url, storage: null, ...FAST, ...options });
  try {
    await fn(client, peer);
  } finally {
    await closeClient(client);
    await peer.close();
  }
}

// ----------------------------------------------------------------- rules

Deno.test("closeAction() follows the close-code table", () => {
  const table: [number, string][] = [
    [1000, "reconnect"],
    [1001, "reconnect"],
    [1006, "reconnect"],
    [1011, "reconnect"],
    [4000, "reconnect"],
    [4001, "reconnect"],
    [4499, "reconnect"],
    [1008, "auth"],
    [4500, "auth"],
    [4501, "auth"],
    [4502, "terminal"],
    [4999, "terminal"],
  ];
  for (const [code, action] of table) assert.equal(closeAction(code), action, String(code));
});

Deno.test("backoffDelay() doubles up to the maximum, with jitter between half and all", () => {
  const opts = { initialDelayMs: 100, maxDelayMs: 1000 };
  assert.deepEqual([0, 1, 2, 3, 4, 10].map((a) => backoffDelay(a, opts, () => 0.999999)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.deepEqual([0, 1, 2].map((a) => backoffDelay(a, opts, () => 0)), [50, 100, 200]);
});

// ------------------------------------------------------ real yychat server

Deno.test("YychatClient streams a reply with tool events, authenticated by the subprotocol", async () => {
  const server = await startTestServer({ YYCHAT_API_KEY: KEY });
  const client = new YychatClient({ url: server.ws, key: KEY, storage: null });
  try {
    const seen = states(client);
    client.connect();
    const reply = client.chat({ content: "what is 6 * 7?", conversation_id: "conv-client-1" });
    const events = await drainEvents(reply);
    const types = events.map((e) => e.type);
    assert.deepEqual(types.slice(0, 2), ["processing_start", "stream_start"]);
    assert.ok(types.includes("tool_call") && types.includes("tool_result"), types.join());
    assert.equal(types.at(-1), "stream_end");
    assert.equal(reply.status, "done");
    assert.equal(reply.finishReason, "stop");
    assert.match(reply.text, /42/);
    assert.deepEqual(reply.tools.map((t) => [t.name, t.ok]), [["calculator", true]]);
    assert.deepEqual(seen.map((s) => s.state), ["connecting", "open"]);
    assert.ok(client.clientId, "the server's client id is known");
    assert.ok(!server.logs.join("\n").includes(KEY), "the key is never logged");
  } finally {
    await closeClient(client, server);
    await server.close();
  }
});

Deno.test("YychatClient reports a wrong key as invalid_api_key and does not retry", async () => {
  const server = await startTestServer({ YYCHAT_API_KEY: KEY });
  const client = new YychatClient({ url: server.ws, key: "sk-wrong", storage: null, ...FAST });
  try {
    const seen = states(client);
    client.connect();
    await waitFor(() => client.state === "failed", 5000, "the client to give up");
    assert.equal(seen.at(-1)!.code, "invalid_api_key");
    await new Promise((r) => setTimeout(r, 150));
    const refused = server.logs.filter((l) => l.includes('"ws_refused"')).length;
    assert.equal(refused, 1, "one upgrade attempt, no retry loop");
    assert.equal(client.state, "failed");
  } finally {
    await closeClient(client);
    await server.close();
  }
});

Deno.test("YychatClient uses an auth frame for a key a subprotocol cannot carry", async () => {
  const key = "sk/with=separators";
  const server = await startTestServer({ YYCHAT_API_KEY: key });
  const client = new YychatClient({ url: server.ws, key, storage: null });
  try {
    const frames: Json[] = [];
    client.addEventListener("event", (e) => frames.push((e as CustomEvent).detail));
    client.connect();
    const reply = client.chat({ content: "hello" });
    await reply.finished;
    assert.equal(reply.status, "done", JSON.stringify(reply.error));
    assert.equal(frames[0]!.auth_required, true);
    assert.ok(frames.some((f) => f.type === "auth_ok"));
  } finally {
    await closeClient(client, server);
    await server.close();
  }
});

Deno.test("Reply.cancel() stops a running reply: stream_end with finish_reason cancelled", async () => {
  const mock = await OpenAIMock.start();
  mock.enqueue(
    textReply("one two three four five six seven eight nine ten ".repeat(20), { chunkDelayMs: 30 }),
  );
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test-provider",
    PROVIDER_MAX_RETRIES: "0",
  });
  const client = new YychatClient({ url: server.ws, storage: null });
  try {
    client.connect();
    const reply = client.chat({ content: "count" });
    await waitFor(() => reply.text.length > 10, 5000, "some text");
    reply.cancel();
    await reply.finished;
    assert.equal(reply.status, "cancelled");
    assert.equal(reply.finishReason, "cancelled");
    await mock.waitForAbort();
    assert.ok(reply.text.length < 1000, "stopped before the end");
  } finally {
    await closeClient(client, server);
    await server.close();
    await mock.close();
  }
});

Deno.test("YychatClient refuses a message over maxMessageBytes without sending it", async () => {
  const server = await startTestServer();
  const client = new YychatClient({ url: server.ws, storage: null, maxMessageBytes: 1000 });
  try {
    client.connect();
    const reply = client.chat({ content: "é".repeat(600) });
    assert.equal(reply.status, "error");
    assert.equal(reply.error?.code, "message_too_large");
    assert.equal(client.replies.length, 0);
  } finally {
    await closeClient(client);
    await server.close();
  }
});

// ------------------------------------------------ scripted resume (§9)

/** Starts a reply on peer 1 up to seq 4 ("Hello wor"), then breaks the connection. */
async function firstLeg(peer: Peer): Promise<string> {
  const msg = await peer.next("text_message");
  assert.equal(msg.on_disconnect, "continue", "text_message says on_disconnect explicitly");
  assert.equal(msg.tool_events, true);
  const r = msg.request_id;
  peer.send({ type: "processing_start", request_id: r, seq: 1, resume_token: "tok-1" });
  peer.send({ type: "stream_start", request_id: r, seq: 2 });
  peer.send({ type: "stream_chunk", request_id: r, seq: 3, content: "Hello " });
  peer.send({ type: "stream_chunk", request_id: r, seq: 4, content: "wor" });
  await new Promise((res) => setTimeout(res, 30));
  peer.socket.close(1011, "boom");
  return r;
}

Deno.test("after a reconnect the client resumes; replayed events are ignored by seq", async () => {
  const script = async (p: Peer) => {
    if (p.n === 1) return void await firstLeg(p);
    const resume = await p.next("resume");
    assert.equal(resume.resume_token, "tok-1");
    assert.equal(resume.last_seq, 4);
    const r = resume.request_id;
    p.send({ type: "resume_ok", request_id: r, recovered: true, status: "running", top_seq: 4 });
    // A careless server replays what the client already has: it must not count twice.
    p.send({ type: "stream_chunk", request_id: r, seq: 3, content: "Hello " });
    p.send({ type: "stream_chunk", request_id: r, seq: 4, content: "wor" });
    p.send({ type: "stream_chunk", request_id: r, seq: 5, content: "ld" });
    p.send({ type: "stream_chunk", request_id: r, seq: 5, content: "ld" });
    p.send({
      type: "stream_end",
      request_id: r,
      seq: 6,
      full_content: "Hello world",
      finish_reason: "stop",
    });
  };
  await withScripted(script, async (client) => {
    const seen = states(client);
    client.connect();
    const reply = client.chat({ content: "hi" });
    const { events, texts } = await drain(reply);
    const types = events.map((e) => e.type);
    assert.deepEqual(types, [
      "processing_start",
      "stream_start",
      "stream_chunk",
      "stream_chunk",
      "connection_lost",
      "resuming",
      "resume_ok",
      "stream_chunk",
      "stream_end",
    ]);
    assert.equal(reply.duplicates, 3);
    assert.deepEqual(texts.filter((t, i) => t !== texts[i - 1]), [
      "",
      "Hello ",
      "Hello wor",
      "Hello world",
    ]);
    assert.equal(reply.status, "done");
    assert.equal(reply.resumed, true);
    assert.equal(reply.recovered, true);
    assert.deepEqual(seen.map((s) => s.state), [
      "connecting",
      "open",
      "reconnecting",
      "connecting",
      "open",
    ]);
    assert.equal(seen[2]!.code, "close_1011");
  }, { storage: new MemoryStorage() });
});

Deno.test("a stream_snapshot replaces the text so far (recovered: false)", async () => {
  const script = async (p: Peer) => {
    if (p.n === 1) return void await firstLeg(p);
    const { request_id: r } = await p.next("resume");
    p.send({ type: "resume_ok", request_id: r, recovered: false, status: "running", top_seq: 7 });
    p.send({ type: "stream_snapshot", request_id: r, seq: 6, content: "Hello wor" });
    p.send({ type: "stream_chunk", request_id: r, seq: 7, content: "ld!" });
    p.send({
      type: "stream_end",
      request_id: r,
      seq: 8,
      full_content: "Hello world!",
      finish_reason: "stop",
    });
  };
  await withScripted(script, async (client) => {
    client.connect();
    const reply = client.chat({ content: "hi" });
    const { events, texts } = await drain(reply);
    const at = events.findIndex((e) => e.type === "stream_snapshot");
    assert.equal(texts[at], "Hello wor", "the snapshot replaced the text, nothing appended twice");
    assert.equal(texts[at + 1], "Hello world!");
    assert.equal(reply.recovered, false);
    assert.equal(reply.lastSeq, 8);
  });
});

/** A script: {@link firstLeg}, then an `error` with `code` answers the resume. */
function resumeRefused(code: string, message: string) {
  return async (p: Peer) => {
    if (p.n === 1) return void await firstLeg(p);
    const { request_id: r } = await p.next("resume");
    p.send({
      type: "error",
      request_id: r,
      error: { code, type: "invalid_request_error", message },
    });
  };
}

Deno.test("resume_unavailable ends the reply as unavailable, with the code", async () => {
  await withScripted(resumeRefused("resume_unavailable", "Unknown or expired"), async (client) => {
    client.connect();
    const reply = client.chat({ content: "hi" });
    await reply.finished;
    assert.equal(reply.status, "unavailable");
    assert.equal(reply.error?.code, "resume_unavailable");
    assert.equal(reply.text, "Hello wor", "what arrived stays");
    assert.equal(client.replies.length, 0);
  });
});

Deno.test("a server without resume (unknown_message_type) ends the reply as unavailable", async () => {
  const script = resumeRefused("unknown_message_type", "Unknown message type: resume");
  await withScripted(script, async (client) => {
    client.connect();
    const reply = client.chat({ content: "hi" });
    await reply.finished;
    assert.equal(reply.status, "unavailable");
  });
});

Deno.test("a reply lost before its resume token is interrupted, not resumed", async () => {
  const script = async (p: Peer) => {
    if (p.n > 1) return;
    const msg = await p.next("text_message");
    p.send({ type: "processing_start", request_id: msg.request_id, seq: 1 });
    p.socket.close(1011, "boom");
  };
  await withScripted(script, async (client, peer) => {
    client.connect();
    const reply = client.chat({ content: "hi" });
    await reply.finished;
    assert.equal(reply.status, "interrupted");
    await waitFor(() => client.state === "open" && peer.connections === 2, 3000, "a reconnect");
  });
});

Deno.test("a cancel asked while disconnected is sent after the resume", async () => {
  let cancelled: Json | undefined;
  const script = async (p: Peer) => {
    if (p.n === 1) return void await firstLeg(p);
    const { request_id: r } = await p.next("resume");
    p.send({ type: "resume_ok", request_id: r, recovered: true, status: "running", top_seq: 4 });
    cancelled = await p.next("cancel");
    p.send({
      type: "stream_end",
      request_id: r,
      seq: 5,
      full_content: "Hello wor",
      finish_reason: "cancelled",
    });
  };
  await withScripted(script, async (client) => {
    client.connect();
    const reply = client.chat({ content: "hi" });
    await waitFor(() => client.state === "reconnecting", 3000, "the connection to drop");
    reply.cancel();
    await reply.finished;
    assert.equal(reply.status, "cancelled");
    assert.equal(cancelled?.request_id, reply.request_id);
  }, { initialDelayMs: 200, maxDelayMs: 200 });
});

Deno.test("after a reload the remembered reply is resumed from its last seq", async () => {
  let resumed: Json | undefined;
  const peer = scriptedServer(async (p) => {
    if (p.n === 1) {
      const msg = await p.next("text_message");
      const r = msg.request_id;
      p.send({ type: "processing_start", request_id: r, seq: 1, resume_token: "tok-9" });
      p.send({ type: "stream_start", request_id: r, seq: 2 });
      p.send({ type: "stream_chunk", request_id: r, seq: 3, content: "Half" });
      return;
    }
    resumed = await p.next("resume");
    const r = resumed.request_id;
    p.send({ type: "resume_ok", request_id: r, recovered: true, status: "done", top_seq: 5 });
    p.send({ type: "stream_chunk", request_id: r, seq: 4, content: " done" });
    p.send({
      type: "stream_end",
      request_id: r,
      seq: 5,
      full_content: "Half done",
      finish_reason: "stop",
    });
  });
  const storage = new MemoryStorage();
  const first = new YychatClient({ url: peer.url, storage, ...FAST });
  const second = new YychatClient({ url: peer.url, storage, ...FAST });
  try {
    first.connect();
    const reply = first.chat({ content: "hi", conversation_id: "c-1", meta: { note: "mine" } });
    await waitFor(() => reply.text === "Half", 3000, "the first chunk");
    first.close(); // the page goes away (pagehide writes the state)
    const [back, ...rest] = second.restore();
    assert.equal(rest.length, 0);
    assert.equal(back!.request_id, reply.request_id);
    assert.equal(back!.text, "Half");
    assert.equal(back!.lastSeq, 3);
    assert.equal(back!.conversation_id, "c-1");
    assert.deepEqual(back!.meta, { note: "mine" });
    second.connect();
    await back!.finished;
    assert.equal(resumed?.last_seq, 3);
    assert.equal(resumed?.resume_token, "tok-9");
    assert.equal(back!.text, "Half done");
    assert.equal(storage.getItem("yychat.replies.v1"), null, "an ended reply is forgotten");
  } finally {
    await closeClient(first);
    await closeClient(second);
    await peer.close();
  }
});

Deno.test("close codes: 4001 reconnects, 4500 is a terminal auth failure", async () => {
  const script = (p: Peer) => {
    p.socket.close(p.n === 1 ? 4001 : 4500, p.n === 1 ? "slow consumer" : "auth failed");
  };
  await withScripted(script, async (client, peer) => {
    const seen = states(client);
    client.connect();
    await waitFor(() => client.state === "failed", 3000, "the terminal close");
    assert.equal(seen.find((s) => s.state === "reconnecting")?.code, "close_4001");
    assert.equal(seen.at(-1)!.code, "auth_failed");
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(peer.connections, 2, "no reconnect after 4500");
  });
});
