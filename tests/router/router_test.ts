import assert from "node:assert/strict";
import { Attachments } from "../../src/generations/mod.ts";
import { ChatError } from "../../src/core/errors.ts";
import type { InboundMessage, OutboundBody } from "../../src/protocol/messages.ts";
import { type ConnectionContext, echoRequestId, Router } from "../../src/router/router.ts";

function fakeContext(): ConnectionContext & { sent: OutboundBody[] } {
  const sent: OutboundBody[] = [];
  const controller = new AbortController();
  return {
    sent,
    clientId: "c1",
    principal: "",
    authenticated: true,
    signal: controller.signal,
    attachments: new Attachments(),
    send: (body) => (sent.push(body), true),
    authenticate: () => Promise.resolve(true),
    close() {},
  };
}

const ping: InboundMessage = { type: "ping", request_id: "r1" };

Deno.test("Router.dispatch() routes by type to the registered handler", () => {
  const router = new Router().register("ping", {
    name: "PingHandler",
    handle: (msg, ctx) => void ctx.send(echoRequestId(msg, { type: "pong" })),
  });
  const ctx = fakeContext();
  assert.equal(router.dispatch(ping, ctx), undefined, "a synchronous handler returns no promise");
  assert.deepEqual(ctx.sent, [{ type: "pong", request_id: "r1" }]);
});

Deno.test("Router.dispatch() lets middleware reject a message with an error event", () => {
  let handled = false;
  const router = new Router()
    .use({ name: "Deny", check: () => new ChatError("too_many_messages", "Slow down") })
    .register("ping", { name: "PingHandler", handle: () => void (handled = true) });
  const ctx = fakeContext();
  router.dispatch(ping, ctx);
  assert.equal(handled, false);
  assert.deepEqual(ctx.sent, [{
    type: "error",
    error: { message: "Slow down", type: "rate_limit_error", code: "too_many_messages" },
    request_id: "r1",
  }]);
});

Deno.test("Router.dispatch() runs middleware in registration order", () => {
  const order: string[] = [];
  const router = new Router()
    .use({ name: "A", check: () => void order.push("A") })
    .use({ name: "B", check: () => void order.push("B") })
    .register("ping", { name: "P", handle: () => void order.push("handler") });
  router.dispatch(ping, fakeContext());
  assert.deepEqual(order, ["A", "B", "handler"]);
});

Deno.test("Router.dispatch() turns a handler crash into internal_error and reports it", async (t) => {
  const crashes: unknown[] = [];
  const router = new Router((err) => crashes.push(err))
    .register("ping", {
      name: "Sync",
      handle: () => {
        throw new Error("boom");
      },
    })
    .register("heartbeat", { name: "Async", handle: () => Promise.reject(new Error("later boom")) })
    .register("get_status", {
      name: "Coded",
      handle: () => {
        throw new ChatError("personality_not_found", 'Unknown personality "x"');
      },
    });
  await t.step("synchronous throw", () => {
    const ctx = fakeContext();
    router.dispatch(ping, ctx);
    assert.equal((ctx.sent[0] as { error: { code: string } }).error.code, "internal_error");
  });
  await t.step("asynchronous rejection", async () => {
    const ctx = fakeContext();
    await router.dispatch({ type: "heartbeat" }, ctx);
    assert.equal((ctx.sent[0] as { error: { code: string } }).error.code, "internal_error");
  });
  await t.step("a ChatError keeps its code and is not a crash", () => {
    const ctx = fakeContext();
    router.dispatch({ type: "get_status" }, ctx);
    assert.equal((ctx.sent[0] as { error: { code: string } }).error.code, "personality_not_found");
  });
  assert.equal(crashes.length, 2);
});

Deno.test("Router.register() refuses a second handler for the same type", () => {
  const router = new Router().register("ping", { name: "A", handle: () => {} });
  assert.throws(() => router.register("ping", { name: "B", handle: () => {} }), TypeError);
});

Deno.test("Router.describe() lists handlers by type and middleware by name", () => {
  const router = new Router()
    .use({ name: "AuthGate", check: () => undefined })
    .register("ping", { name: "PingHandler", handle: () => {} });
  assert.deepEqual(router.describe(), {
    handlers: { ping: "PingHandler" },
    middleware: ["AuthGate"],
  });
  assert.equal(router.has("ping"), true);
  assert.equal(router.has("heartbeat"), false);
  assert.equal(router.has("toString"), false);
});
