import assert from "node:assert/strict";
import { createRouter } from "../../handlers/mod.ts";
import { Supervisor, type SupervisorOptions } from "../../src/actors/supervisor.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Router } from "../../src/router/router.ts";
import { ApiKeys } from "../../src/security/api_keys.ts";
import { GenerationRegistry, MAX_CHUNK_CHARS, MemoryEventLog } from "../../src/generations/mod.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { ScriptedEngine } from "../helpers/fake_engine.ts";
import { FakeSocket } from "../helpers/fake_socket.ts";

const LIMITS = {
  maxMessageBytes: 1024,
  maxOutboundBytes: 64 * 1024,
  messagesPerSecond: 0,
  maxBufferedBytes: 4096,
  mailboxCapacity: 4,
  authTimeoutMs: 5000,
};

function setup(overrides: Partial<SupervisorOptions> = {}, keys: string[] = []) {
  const clock = new FakeClock();
  const generations = new GenerationRegistry({
    runner: new ScriptedEngine(),
    log: new MemoryEventLog({
      maxBytesPerGeneration: 1 << 20,
      maxTotalBytes: 1 << 20,
      resumeWindowMs: 1000,
    }),
    clock,
    logger: silentLogger,
    nodeId: "test",
    maxChunkChars: MAX_CHUNK_CHARS,
    detachedLimitMs: 60_000,
    maxSubscribers: 4,
  });
  const router = createRouter({
    stats: () => supervisor.stats(),
    logger: silentLogger,
    keys: new ApiKeys(keys),
    generations,
    maxStreamsPerConnection: 4,
    useToolsDefault: true,
    streamDefault: true,
  });
  const supervisor: Supervisor = new Supervisor({
    maxConnections: 3,
    maxPendingAuth: 2,
    maxConnectionsPerIp: 10,
    heartbeatIntervalMs: 30_000,
    connectionTimeoutMs: 300_000,
    closeGraceMs: 5000,
    limits: LIMITS,
    router,
    clock,
    logger: silentLogger,
    ...overrides,
  });
  const connect = (
    auth: { principal: string | undefined; authRequired: boolean; address: string } = {
      principal: undefined,
      authRequired: false,
      address: "127.0.0.1",
    },
  ) => {
    const socket = new FakeSocket();
    const conn = supervisor.admit(socket.asWebSocket(), auth);
    socket.open();
    return { socket, conn };
  };
  return { clock, supervisor, connect, generations };
}

Deno.test("Supervisor.refusal() admits up to maxConnections, then refuses until one leaves", () => {
  const { supervisor, connect } = setup();
  const first = connect();
  connect();
  connect();
  const applicant = { address: "127.0.0.1", authenticated: true };
  assert.equal(supervisor.refusal(applicant), "at_capacity");
  assert.throws(() =>
    supervisor.admit(new FakeSocket().asWebSocket(), {
      principal: undefined,
      authRequired: false,
      address: "127.0.0.1",
    })
  );
  first.socket.close();
  first.socket.finishClose();
  assert.equal(supervisor.size, 2);
  assert.equal(supervisor.refusal(applicant), undefined);
});

Deno.test("Supervisor sweep closes a silent connection with 4000 after the timeout", () => {
  const { clock, supervisor, connect } = setup();
  const { socket, conn } = connect();
  clock.advance(299_000);
  assert.equal(socket.closedWith, undefined);
  clock.advance(31_000);
  assert.deepEqual(socket.closedWith, { code: 4000, reason: "connection timeout" });
  assert.equal(conn.status, "closing");
  socket.finishClose();
  assert.equal(supervisor.size, 0);
});

Deno.test("Supervisor sweep counts any inbound frame as liveness, not only heartbeat", () => {
  const { clock, connect } = setup();
  const { socket } = connect();
  for (let i = 0; i < 5; i++) {
    clock.advance(200_000);
    socket.receive("this is not JSON"); // an error reply, but still a sign of life
  }
  assert.equal(socket.closedWith, undefined);
  assert.equal(socket.types().filter((t) => t === "error").length, 5);
});

Deno.test("Supervisor sweep reconciles a socket that closed without a close event", () => {
  const { clock, supervisor, connect } = setup();
  const { socket, conn } = connect();
  socket.readyState = WebSocket.CLOSED; // the close event is lost
  clock.advance(30_000);
  assert.equal(supervisor.size, 0);
  assert.equal(conn.status, "closed");
  assert.equal(conn.signal.aborted, true);
});

Deno.test("Supervisor sweep drops a connection whose close handshake stalls", () => {
  const { clock, supervisor, connect } = setup({ closeGraceMs: 45_000 });
  const { conn } = connect();
  conn.close(1000, "bye"); // the peer never answers
  clock.advance(30_000);
  assert.equal(supervisor.size, 1, "still within the close grace");
  clock.advance(30_000);
  assert.equal(supervisor.size, 0);
});

Deno.test("Supervisor closes a slow consumer with 4001 instead of buffering", async (t) => {
  await t.step("on send", () => {
    const { connect } = setup();
    const { socket, conn } = connect();
    socket.bufferedAmount = LIMITS.maxBufferedBytes + 1;
    assert.equal(conn.send({ type: "pong" }), false);
    assert.equal(socket.closedWith?.code, 4001);
  });
  await t.step("on the sweep, when nothing is being sent", () => {
    const { clock, connect } = setup();
    const { socket } = connect();
    socket.bufferedAmount = LIMITS.maxBufferedBytes + 1;
    clock.advance(30_000);
    assert.equal(socket.closedWith?.code, 4001);
  });
});

Deno.test("Supervisor.stats() counts connections, messages and uptime", () => {
  const { clock, supervisor, connect } = setup();
  const a = connect();
  connect();
  a.socket.receive('{"type":"ping"}');
  a.socket.receive('{"type":"heartbeat"}');
  a.socket.receive("garbage");
  a.socket.close();
  a.socket.finishClose();
  clock.advance(1500);
  assert.deepEqual(supervisor.stats(), {
    total_connections: 1,
    active_connections: 1,
    total_messages: 3,
    max_connections: 3,
    uptime: 1.5,
    accepted_connections: 2,
  });
});

Deno.test("Connection refuses messages beyond its mailbox while a handler is busy", async () => {
  const clock = new FakeClock();
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const handled: string[] = [];
  const router = new Router().register("ping", {
    name: "SlowPing",
    handle: async (msg) => {
      handled.push(msg.request_id!);
      await gate;
    },
  });
  const supervisor = new Supervisor({
    maxConnections: 1,
    maxPendingAuth: 1,
    maxConnectionsPerIp: 1,
    heartbeatIntervalMs: 1000,
    connectionTimeoutMs: 10_000,
    limits: LIMITS,
    router,
    clock,
    logger: silentLogger,
  });
  const socket = new FakeSocket();
  supervisor.admit(socket.asWebSocket(), {
    principal: undefined,
    authRequired: false,
    address: "127.0.0.1",
  });
  socket.open();
  for (let i = 0; i < 7; i++) socket.receive(JSON.stringify({ type: "ping", request_id: `r${i}` }));
  // r0 is being handled; r1..r4 fill the mailbox (capacity 4); r5, r6 are refused.
  const errors = socket.events().filter((e) => e.type === "error");
  assert.deepEqual(errors.map((e) => [e.request_id, (e.error as { code: string }).code]), [
    ["r5", "mailbox_full"],
    ["r6", "mailbox_full"],
  ]);
  release();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(handled, ["r0", "r1", "r2", "r3", "r4"]);
  socket.close();
  socket.finishClose();
  assert.equal(supervisor.size, 0);
});

Deno.test("Connection closes with 4002 (reconnect range) when the auth frame does not arrive in time", () => {
  const { clock, supervisor, connect } = setup({}, ["k1"]);
  const { socket } = connect({ principal: undefined, authRequired: true, address: "10.0.0.1" });
  const hello = socket.events()[0]!;
  assert.equal(hello.type, "connection_established");
  assert.equal(hello.auth_required, true);
  socket.receive('{"type":"ping"}');
  assert.equal((socket.events()[1]!.error as { code: string }).code, "auth_required");
  clock.advance(5001);
  assert.equal(socket.closedWith?.code, 4002);
  socket.finishClose();
  assert.equal(supervisor.size, 0);
});

Deno.test("Supervisor.shutdown() tells clients, waits for streams, closes with 1001, clears its timer", async () => {
  const { clock, supervisor, connect, generations } = setup();
  await generations.close(); // its sweep timer is not the supervisor's
  const { socket } = connect();
  let streamDone = false;
  // The replies (the generation registry in the app) settle before sockets close.
  const settle = () =>
    new Promise<void>((resolve) =>
      setTimeout(() => {
        streamDone = true;
        assert.equal(socket.closedWith, undefined, "still open while replies finish");
        resolve();
      }, 20)
    );
  const done = supervisor.shutdown(10_000, settle);
  assert.equal(supervisor.refusal({ address: "127.0.0.1", authenticated: true }), "shutting_down");
  assert.equal(socket.types().at(-1), "server_shutdown");
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(streamDone, true);
  assert.equal(socket.closedWith?.code, 1001);
  socket.finishClose();
  clock.advance(10);
  await done;
  assert.equal(supervisor.status, "stopped");
  assert.equal(supervisor.size, 0);
  assert.equal(clock.pending, 0);
});

Deno.test("Connection.send() replaces an event over the outbound size limit with response_too_large", () => {
  const { connect } = setup();
  const { socket, conn } = connect();
  const sent = conn.send({
    type: "text_response",
    request_id: "big",
    content: "x".repeat(LIMITS.maxOutboundBytes),
    conversation_id: null,
  });
  assert.equal(sent, false);
  const last = socket.events().at(-1)!;
  assert.equal(last.type, "error");
  assert.equal((last.error as { code: string }).code, "response_too_large");
  assert.equal(last.request_id, "big");
  assert.ok(
    socket.sent.every((frame) => new TextEncoder().encode(frame).length <= LIMITS.maxOutboundBytes),
  );
});

Deno.test("Connection.send() cuts an oversized error message instead of dropping the error", () => {
  const { connect } = setup();
  const { socket, conn } = connect();
  assert.equal(
    conn.send({
      type: "error",
      error: {
        message: "m".repeat(LIMITS.maxOutboundBytes),
        type: "server_error",
        code: "internal_error",
      },
    }),
    true,
  );
  const last = socket.events().at(-1)!;
  assert.match((last.error as { message: string }).message, /^m+…$/);
  assert.ok(new TextEncoder().encode(socket.sent.at(-1)!).length <= LIMITS.maxOutboundBytes);
});

Deno.test("Supervisor: sockets owing their auth frame hold no connection slot", async () => {
  const { supervisor, connect } = setup({ maxConnections: 1, maxPendingAuth: 2 }, ["k1"]);
  const pending = () =>
    connect({ principal: undefined, authRequired: true, address: "10.0.0.9" }).socket;
  const a = pending();
  pending();
  assert.equal(
    supervisor.refusal({ address: "10.0.0.9", authenticated: false }),
    "too_many_pending",
  );
  // The one slot is still free for a client that brings its key at upgrade time.
  assert.equal(supervisor.refusal({ address: "10.0.0.1", authenticated: true }), undefined);
  const keyed = connect({ principal: "key_x", authRequired: false, address: "10.0.0.1" });
  assert.equal(supervisor.refusal({ address: "10.0.0.2", authenticated: true }), "at_capacity");
  // A pending socket that authenticates while no slot is free is told and closed with 1013.
  a.receive(JSON.stringify({ type: "auth", token: "k1" }));
  await new Promise((r) => setTimeout(r, 0)); // authentication asks for a slot asynchronously
  const last = a.events().at(-1)!;
  assert.equal((last.error as { code: string }).code, "too_many_connections");
  assert.equal(a.closedWith?.code, 1013);
  a.finishClose();
  // Once the slot is free, the next one gets it.
  keyed.socket.close();
  keyed.socket.finishClose();
  const b = pending();
  b.receive(JSON.stringify({ type: "auth", token: "k1" }));
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(b.events().at(-1)!.type, "auth_ok");
  assert.equal(supervisor.refusal({ address: "10.0.0.2", authenticated: true }), "at_capacity");
});

Deno.test("Supervisor: connections per client address are capped", () => {
  const { supervisor, connect } = setup({ maxConnections: 10, maxConnectionsPerIp: 2 });
  const one = { principal: undefined, authRequired: false, address: "192.0.2.7" };
  const first = connect(one);
  connect(one);
  assert.equal(
    supervisor.refusal({ address: "192.0.2.7", authenticated: true }),
    "too_many_per_ip",
  );
  assert.equal(supervisor.refusal({ address: "192.0.2.8", authenticated: true }), undefined);
  first.socket.close();
  first.socket.finishClose();
  assert.equal(supervisor.refusal({ address: "192.0.2.7", authenticated: true }), undefined);
});

Deno.test("Supervisor.stats() counts connections registered now, and authenticated ones as active", () => {
  const { supervisor, connect } = setup({}, ["k1"]);
  const first = connect({ principal: "key_x", authRequired: false, address: "127.0.0.1" });
  connect({ principal: undefined, authRequired: true, address: "127.0.0.1" });
  let stats = supervisor.stats();
  assert.deepEqual(
    [stats.total_connections, stats.active_connections, stats.accepted_connections],
    [2, 1, 2],
  );
  first.socket.close();
  first.socket.finishClose();
  stats = supervisor.stats();
  assert.deepEqual(
    [stats.total_connections, stats.active_connections, stats.accepted_connections],
    [1, 0, 2],
  );
});

Deno.test("Connection rate-limits every frame, undecodable ones too, and closes a client that keeps on", () => {
  const { clock, connect } = setup({ limits: { ...LIMITS, messagesPerSecond: 2 } });
  const { socket } = connect();
  const errors = () =>
    socket.events().filter((e) => e.type === "error").map((e) =>
      (e.error as { code: string }).code
    );
  // Burst: 2 s worth = 4 frames, whatever they hold.
  for (const frame of ["not json", "[1]", '{"type":"ping"}', "{}"]) socket.receive(frame);
  assert.deepEqual(errors(), ["invalid_json", "invalid_message", "missing_type"]);
  socket.receive("not json either");
  assert.deepEqual(errors().slice(3), ["too_many_messages"]);
  // After a second, two more tokens: served again.
  clock.advance(1000);
  socket.receive('{"type":"ping"}');
  assert.equal(socket.events().at(-1)!.type, "pong");
  socket.receive('{"type":"ping"}');
  // A client that keeps sending after being told is closed with 4003.
  for (let i = 0; i < 5; i++) socket.receive("x");
  assert.equal(socket.closedWith?.code, 4003);
});
