import assert from "node:assert/strict";
import { Mailbox } from "../../src/actors/mailbox.ts";

Deno.test("Mailbox.trySend() returns false when full under the reject policy", () => {
  const box = new Mailbox<number>({ capacity: 2 });
  assert.equal(box.trySend(1), true);
  assert.equal(box.trySend(2), true);
  assert.equal(box.trySend(3), false);
  assert.equal(box.size, 2);
  assert.equal(box.take(), 1);
  assert.equal(box.trySend(4), true);
  assert.deepEqual([box.take(), box.take(), box.take()], [2, 4, undefined]);
});

Deno.test("Mailbox.trySend() drops the oldest under the drop-oldest policy", () => {
  const box = new Mailbox<number>({ capacity: 3, overflow: "drop-oldest" });
  for (let i = 1; i <= 5; i++) assert.equal(box.trySend(i), true);
  assert.equal(box.size, 3);
  assert.equal(box.dropped, 2);
  assert.deepEqual([box.take(), box.take(), box.take()], [3, 4, 5]);
});

Deno.test("Mailbox keeps FIFO order across many wrap-arounds", () => {
  const box = new Mailbox<number>({ capacity: 4 });
  const out: number[] = [];
  for (let i = 0; i < 100; i++) {
    box.trySend(i);
    if (i % 3 === 2) { while (box.size > 0) out.push(box.take()!); }
  }
  while (box.size > 0) out.push(box.take()!);
  assert.deepEqual(out, Array.from({ length: 100 }, (_, i) => i));
});

Deno.test("Mailbox async iteration yields queued and later messages, ends on close", async () => {
  const box = new Mailbox<string>({ capacity: 8 });
  box.trySend("a");
  const seen: string[] = [];
  const reader = (async () => {
    for await (const msg of box) seen.push(msg);
  })();
  await Promise.resolve();
  box.trySend("b");
  box.trySend("c");
  await new Promise((r) => setTimeout(r, 0));
  box.close();
  await reader;
  assert.deepEqual(seen, ["a", "b", "c"]);
});

Deno.test("Mailbox.close() refuses further messages and discards pending ones", async () => {
  const box = new Mailbox<number>({ capacity: 2 });
  box.trySend(1);
  box.close();
  assert.equal(box.closed, true);
  assert.equal(box.trySend(2), false);
  assert.equal(box.size, 0);
  assert.deepEqual(await box.next(), { value: undefined, done: true });
});

Deno.test("Mailbox rejects a capacity that is not a positive integer", async (t) => {
  for (const capacity of [0, -1, 1.5, NaN]) {
    await t.step(String(capacity), () => {
      assert.throws(() => new Mailbox({ capacity }), RangeError);
    });
  }
});
