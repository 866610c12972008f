import assert from "node:assert/strict";
import { createRouter } from "../../handlers/mod.ts";
import { Supervisor, type SupervisorOptions } from "../../src/actors/supervisor.ts";
import { silentLogger } from "../../src/core/logger.ts";
import { Router } from "../../src/router/router.ts";
import { ApiKeys } from "../../src/security/api_keys.ts";
import { FakeClock } from "../helpers/fake_clock.ts";
import { ScriptedEngine } from "../helpers/fake_engine.ts";
import { FakeSocket } from "../helpers/fake_socket.ts";

const LIMITS = {
  maxMessageBytes: 1024,
  maxBufferedBytes: 4096,
  mailboxCapacity: 4,
  authTimeoutMs: 5000,
};

function setup(overrides: Partial<SupervisorOptions> = {}, keys: string[] = []) {
  const clock = new FakeClock();
  const router = createRouter({
    stats: () => supervisor.stats(),
    clock,
    logger: silentLogger,
    messagesPerSecond: 0,
    keys: new ApiKeys(keys),
    engine: new ScriptedEngine(),
    maxStreamsPerConnection: 4,
    maxMessageBytes: LIMITS.maxMessageBytes,
    draining: () => supervisor.status !== "running",
    useToolsDefault: true,
    streamDefault: true,
  });
  const supervisor: Supervisor = new Supervisor({
    maxConnections: 3,
    heartbeatIntervalMs: 30_000,
    connectionTimeoutMs: 300_000,
    closeGraceMs: 5000,
    limits: LIMITS,
    router,
    clock,
    logger: silentLogger,
    ...overrides,
  });
  const connect = (auth = { principal: undefined, authRequired: false }) => {
    const socket = new FakeSocket();
    const conn = supervisor.admit(socket.asWebSocket(), auth);
    socket.open();
    return { socket, conn };
  };
  return { clock, supervisor, connect };
}

Deno.test("Supervisor.refusal() admits up to maxConnections, then refuses until one leaves", () => {
  const { supervisor, connect } = setup();
  const first = connect();
  connect();
  connect();
  assert.equal(supervisor.refusal(), "at_capacity");
  assert.throws(() =>
    supervisor.admit(new FakeSocket().asWebSocket(), { principal: undefined, authRequired: false })
  );
  first.socket.close();
  first.socket.finishClose();
  assert.equal(supervisor.size, 2);
  assert.equal(supervisor.refusal(), undefined);
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
    total_connections: 2,
    active_connections: 1,
    total_messages: 3,
    max_connections: 3,
    uptime: 1.5,
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
    heartbeatIntervalMs: 1000,
    connectionTimeoutMs: 10_000,
    limits: LIMITS,
    router,
    clock,
    logger: silentLogger,
  });
  const socket = new FakeSocket();
  supervisor.admit(socket.asWebSocket(), { principal: undefined, authRequired: false });
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

Deno.test("Connection closes with 4501 when the auth frame does not arrive in time", () => {
  const { clock, supervisor, connect } = setup({}, ["k1"]);
  const { socket } = connect({ principal: undefined, authRequired: true });
  const hello = socket.events()[0]!;
  assert.equal(hello.type, "connection_established");
  assert.equal(hello.auth_required, true);
  socket.receive('{"type":"ping"}');
  assert.equal((socket.events()[1]!.error as { code: string }).code, "auth_required");
  clock.advance(5001);
  assert.equal(socket.closedWith?.code, 4501);
  socket.finishClose();
  assert.equal(supervisor.size, 0);
});

Deno.test("Supervisor.shutdown() tells clients, waits for streams, closes with 1001, clears its timer", async () => {
  const { clock, supervisor, connect } = setup();
  const { socket, conn } = connect();
  let streamDone = false;
  conn.tasks.start("s1", async (signal) => {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20);
      signal.addEventListener("abort", () => (clearTimeout(timer), resolve()));
    });
    streamDone = true;
  }, () => {});
  const done = supervisor.shutdown(10_000);
  assert.equal(supervisor.refusal(), "shutting_down");
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

Deno.test("Connection.send() replaces an event over the size limit with response_too_large", () => {
  const { connect } = setup();
  const { socket, conn } = connect();
  const sent = conn.send({
    type: "text_response",
    request_id: "big",
    content: "x".repeat(LIMITS.maxMessageBytes),
    conversation_id: null,
  });
  assert.equal(sent, false);
  const last = socket.events().at(-1)!;
  assert.equal(last.type, "error");
  assert.equal((last.error as { code: string }).code, "response_too_large");
  assert.equal(last.request_id, "big");
  assert.ok(
    socket.sent.every((frame) => new TextEncoder().encode(frame).length <= LIMITS.maxMessageBytes),
  );
});

Deno.test("Connection.send() cuts an oversized error message instead of dropping the error", () => {
  const { connect } = setup();
  const { socket, conn } = connect();
  assert.equal(
    conn.send({
      type: "error",
      error: {
        message: "m".repeat(LIMITS.maxMessageBytes),
        type: "server_error",
        code: "internal_error",
      },
    }),
    true,
  );
  const last = socket.events().at(-1)!;
  assert.match((last.error as { message: string }).message, /^m+…$/);
  assert.ok(new TextEncoder().encode(socket.sent.at(-1)!).length <= LIMITS.maxMessageBytes);
});
