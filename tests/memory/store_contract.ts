/**
 * The behaviour every {@linkcode MemoryStore} must show, as one suite run
 * against each implementation (Centrifuge's shared broker tests): SQLite in
 * `sqlite_store_test.ts`, PostgreSQL in `postgres_store_test.ts`. A new
 * store is done when this suite passes on it.
 *
 * Each case gets a fresh, empty database from the factory; `reopen()` opens
 * a second store on the same database (persistence).
 */
import assert from "node:assert/strict";
import type { ChatMessage } from "../../src/core/chat.ts";
import type { MemoryStore } from "../../src/memory/store.ts";
import { estimateMessageTokens } from "../../src/memory/tokens.ts";

/** One fresh database for one case. */
export interface StoreFixture {
  /** A store on this database (call again after closing one: persistence). */
  open(): Promise<MemoryStore>;
  /** Removes the database. */
  cleanup(): Promise<void>;
}

export type StoreFactory = () => Promise<StoreFixture>;

export function turn(user: string, assistant: string): ChatMessage[] {
  return [{ role: "user", content: user }, { role: "assistant", content: assistant }];
}

export function toolTurn(
  user: string,
  callId: string,
  result: string,
  answer: string,
): ChatMessage[] {
  return [
    { role: "user", content: user },
    {
      role: "assistant",
      content: null,
      tool_calls: [{
        id: callId,
        name: "calculator",
        arguments: '{"operation":"add","a":1,"b":2}',
      }],
    },
    { role: "tool", tool_call_id: callId, name: "calculator", content: result },
    { role: "assistant", content: answer },
  ];
}

/** Every assistant tool call is followed by all its results, and no tool message is orphaned. */
export function assertToolPairsIntact(messages: ChatMessage[]): void {
  const open = new Set<string>();
  for (const m of messages) {
    if (m.role === "tool") {
      assert.ok(open.has(m.tool_call_id!), `orphan tool message ${m.tool_call_id}`);
      open.delete(m.tool_call_id!);
    } else {
      assert.equal(open.size, 0, `tool results missing for ${[...open]}`);
      for (const c of m.tool_calls ?? []) open.add(c.id);
    }
  }
  assert.equal(open.size, 0, `tool results missing for ${[...open]}`);
}

const filler = [
  "Let's talk about the weather today",
  "What movies are playing this weekend",
  "Recommend a good book about history",
  "How do I bake sourdough bread",
  "Tell me a joke about programmers",
];

const used = (messages: ChatMessage[]) =>
  messages.reduce((n, m) => n + estimateMessageTokens(m), 0);

type Case = (store: MemoryStore, fixture: StoreFixture, t: Deno.TestContext) => Promise<void>;

const CASES: Record<string, Case> = {
  "appendTurn() then list() returns the turn in order": async (store) => {
    assert.deepEqual(
      await store.appendTurn("ns", "c1", toolTurn("add 1 and 2", "call_1", "3", "It is 3")),
      { stored: true },
    );
    await store.appendTurn("ns", "c1", turn("thanks", "you're welcome"));
    const all = await store.list("ns", "c1");
    assert.deepEqual(all.map((m) => [m.role, m.content]), [
      ["user", "add 1 and 2"],
      ["assistant", null],
      ["tool", "3"],
      ["assistant", "It is 3"],
      ["user", "thanks"],
      ["assistant", "you're welcome"],
    ]);
    assert.deepEqual(all[1]!.tool_calls, [
      { id: "call_1", name: "calculator", arguments: '{"operation":"add","a":1,"b":2}' },
    ]);
    assert.equal(all[2]!.tool_call_id, "call_1");
    assert.equal(all[2]!.name, "calculator");
    assert.equal(new Set(all.slice(0, 4).map((m) => m.turn_id)).size, 1);
    assert.notEqual(all[0]!.turn_id, all[4]!.turn_id);
    assert.ok(all.every((m, i) => i === 0 || m.id > all[i - 1]!.id), "ids grow");
    assert.ok(Math.abs(all[0]!.created_at - Date.now() / 1000) < 60);
    const last2 = await store.list("ns", "c1", 2);
    assert.deepEqual(last2.map((m) => m.content), ["thanks", "you're welcome"]);
    assert.deepEqual(await store.list("ns", "c1", 0), []);
    assert.deepEqual(await store.appendTurn("ns", "c1", []), { stored: false });
    await assert.rejects(
      () => store.appendTurn("ns", "c1", [{ role: "robot" as "user", content: "x" }]),
      /unknown role "robot"/,
    );
    assert.equal((await store.list("ns", "c1")).length, 6, "a refused turn stores nothing");
  },

  "clear() removes only that conversation and its recall": async (store) => {
    await store.appendTurn("ns", "c1", turn("my cat is called Zorro", "nice"));
    await store.appendTurn("ns", "c2", turn("my dog is called Zorro", "nice"));
    assert.equal(await store.clear("ns", "c1"), 2);
    assert.deepEqual(await store.list("ns", "c1"), []);
    assert.equal((await store.list("ns", "c2")).length, 2);
    const ctx = await store.context("ns", "c1", {
      query: "Zorro",
      tokenBudget: 1000,
      maxRecentMessages: 10,
    });
    assert.deepEqual(ctx.messages, []);
    assert.equal(await store.clear("ns", "c1"), 0);
    assert.equal(await store.clear("ns", "never-used"), 0);
    const other = await store.context("ns", "c2", {
      query: "Zorro",
      tokenBudget: 1000,
      maxRecentMessages: 0,
    });
    assert.equal(other.messages[0]!.content, "my dog is called Zorro");
  },

  "keeps namespaces apart": async (store) => {
    await store.appendTurn("key-a", "shared", turn("secret of A: pineapple", "ok"));
    await store.appendTurn("key-b", "shared", turn("hello from B", "hi"));
    assert.deepEqual((await store.list("key-b", "shared")).map((m) => m.content), [
      "hello from B",
      "hi",
    ]);
    const ctx = await store.context("key-b", "shared", {
      query: "pineapple secret",
      tokenBudget: 1000,
      maxRecentMessages: 0,
    });
    assert.deepEqual(ctx.messages, []);
    assert.equal(await store.clear("key-b", "shared"), 2);
    assert.equal((await store.list("key-a", "shared")).length, 2);
  },

  "context() recalls an old relevant turn beyond the recent window": async (store) => {
    await store.appendTurn(
      "ns",
      "c",
      turn("My favourite programming language is Haskell", "Noted: Haskell."),
    );
    for (let i = 0; i < 30; i++) {
      await store.appendTurn("ns", "c", turn(filler[i % filler.length]!, `answer ${i}`));
    }
    const ctx = await store.context("ns", "c", {
      query: "Which programming language do I like?",
      tokenBudget: 2000,
      maxRecentMessages: 6,
    });
    assert.equal(ctx.messages[0]!.content, "My favourite programming language is Haskell");
    assert.equal(ctx.messages[1]!.content, "Noted: Haskell.");
    // Then the 6 most recent messages, chronological.
    assert.deepEqual(ctx.messages.slice(2).map((m) => m.content), [
      filler[27 % 5],
      "answer 27",
      filler[28 % 5],
      "answer 28",
      filler[29 % 5],
      "answer 29",
    ]);
    // Without a matching query only the recent window comes back.
    const plain = await store.context("ns", "c", {
      query: "zzz",
      tokenBudget: 2000,
      maxRecentMessages: 6,
    });
    assert.equal(plain.messages.length, 6);
  },

  "context() recalls Chinese and Japanese text by a two-character word": async (store, _f, t) => {
    await store.appendTurn("ns", "cjk", turn("我最喜欢吃北京烤鸭", "好的，记住了：烤鸭。"));
    await store.appendTurn("ns", "cjk", turn("我住在上海浦东", "上海是个好地方。"));
    await store.appendTurn("ns", "cjk", turn("来週、東京タワーに行きます", "楽しんでください。"));
    await store.appendTurn("ns", "cjk", turn("ラーメンが大好きです", "いいですね。"));
    for (let i = 0; i < 10; i++) {
      await store.appendTurn("ns", "cjk", turn(`今天天气怎么样 ${i}`, `天气晴朗 ${i}`));
    }
    const cases: [string, string][] = [
      ["我喜欢吃什么？烤鸭还是别的", "我最喜欢吃北京烤鸭"],
      ["上海", "我住在上海浦东"],
      ["你还记得北京吗", "我最喜欢吃北京烤鸭"],
      ["東京はどうでしたか", "来週、東京タワーに行きます"],
      ["おすすめのラーメン", "ラーメンが大好きです"],
    ];
    for (const [query, expected] of cases) {
      await t.step(query, async () => {
        const ctx = await store.context("ns", "cjk", {
          query,
          tokenBudget: 2000,
          maxRecentMessages: 4,
        });
        const contents = ctx.messages.map((m) => m.content);
        assert.ok(contents.includes(expected), `expected "${expected}" in ${contents}`);
        assert.equal(ctx.messages.length, 6, "one recalled turn plus 4 recent messages");
      });
    }
  },

  "context() respects the token budget": async (store) => {
    const long = "word ".repeat(200); // ~250 tokens per message
    for (let i = 0; i < 20; i++) {
      await store.appendTurn("ns", "c", turn(`${long} question ${i}`, `${long} answer ${i}`));
    }
    for (const budget of [0, 100, 600, 1100, 5000]) {
      const ctx = await store.context("ns", "c", {
        query: "word question answer",
        tokenBudget: budget,
        maxRecentMessages: 10,
      });
      assert.ok(used(ctx.messages) <= budget, `used ${used(ctx.messages)} > budget ${budget}`);
      if (budget >= 600) assert.equal(ctx.messages.at(-1)!.content, `${long} answer 19`);
      if (budget >= 1100) {
        assert.ok(ctx.messages.length >= 4, `budget ${budget} gave ${ctx.messages.length}`);
      }
    }
    // Without recall the recent window is whole turns: 2 turns fit in 1100.
    const ctx = await store.context("ns", "c", {
      query: "",
      tokenBudget: 1100,
      maxRecentMessages: 10,
    });
    assert.deepEqual(ctx.messages.map((m) => m.content), [
      `${long} question 18`,
      `${long} answer 18`,
      `${long} question 19`,
      `${long} answer 19`,
    ]);
  },

  "context() keeps tool pairs together": async (store, _f, t) => {
    for (let i = 0; i < 6; i++) {
      await store.appendTurn(
        "ns",
        "c",
        toolTurn(`compute thing ${i}`, `call_${i}`, `${i}`, `${i}`),
      );
    }
    // A huge last turn with two tool rounds so only part of it fits.
    const big: ChatMessage[] = [
      { role: "user", content: "do the big calculation" },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "b1", name: "calculator", arguments: "{}" },
          { id: "b2", name: "calculator", arguments: "{}" },
        ],
      },
      { role: "tool", tool_call_id: "b1", content: "x".repeat(400) },
      { role: "tool", tool_call_id: "b2", content: "y".repeat(400) },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "b3", name: "calculator", arguments: "{}" }],
      },
      { role: "tool", tool_call_id: "b3", content: "z".repeat(400) },
      { role: "assistant", content: "done" },
    ];
    await store.appendTurn("ns", "c", big);
    for (const maxRecent of [1, 2, 3, 4, 5, 7, 8, 11]) {
      for (const budget of [10, 120, 200, 300, 1000]) {
        await t.step(`maxRecent ${maxRecent}, budget ${budget}`, async () => {
          const ctx = await store.context("ns", "c", {
            query: "calculation compute calculator",
            tokenBudget: budget,
            maxRecentMessages: maxRecent,
          });
          assertToolPairsIntact(ctx.messages);
          assert.notEqual(ctx.messages[0]?.role, "tool");
          assert.ok(used(ctx.messages) <= budget);
        });
      }
    }
    const ctx = await store.context("ns", "c", {
      query: "",
      tokenBudget: 1000,
      maxRecentMessages: 3,
    });
    // The newest units that fit: the last tool round and the final answer.
    assert.deepEqual(ctx.messages.map((m) => m.role), ["assistant", "tool", "assistant"]);
    assert.equal(ctx.messages[1]!.tool_call_id, "b3");
  },

  "context() never throws on hostile query text": async (store, _f, t) => {
    await store.appendTurn("ns", "c", turn('he said "NEAR(a b)" AND x*', "ok"));
    await store.appendTurn("ns", "c", turn("filler", "filler"));
    const queries = [
      '"',
      '"unbalanced',
      "a AND OR NOT",
      "NEAR(a b, 3)",
      "col:value",
      "x* ^start -minus +plus",
      "(((",
      "'; DROP TABLE messages; --",
      "''",
      "\\",
      "a & b | !c <-> d:* <2>",
      "😀🎉",
      "",
      "   ",
      "\u0000\u0001",
      "ＡＢＣ全角",
      "\ud800 lone surrogate \udfff",
      "NEAR",
    ];
    for (const q of queries) {
      await t.step(JSON.stringify(q), async () => {
        const ctx = await store.context("ns", "c", {
          query: q,
          tokenBudget: 1000,
          maxRecentMessages: 2,
        });
        assert.equal(ctx.messages.at(-1)!.content, "filler");
      });
    }
    assert.equal((await store.list("ns", "c")).length, 4);
    const near = await store.context("ns", "c", {
      query: "NEAR",
      tokenBudget: 1000,
      maxRecentMessages: 2,
    });
    assert.equal(near.messages[0]!.content, 'he said "NEAR(a b)" AND x*');
  },

  "a query of words the index cannot hold recalls nothing": async (store) => {
    await store.appendTurn("ns", "c", turn("an old note about the garden", "noted"));
    for (let i = 0; i < 3; i++) await store.appendTurn("ns", "c", turn(`chat ${i}`, "ok"));
    for (const query of ["²²", "²² ³³", "x²²", "¼½ ⅔"]) {
      const ctx = await store.context("ns", "c", {
        query,
        tokenBudget: 1000,
        maxRecentMessages: 2,
      });
      assert.deepEqual(ctx.messages.map((m) => m.content), ["chat 2", "ok"], query);
    }
  },

  "appendTurn() with the epoch read before a clear() stores nothing": async (store) => {
    const options = { query: "", tokenBudget: 1000, maxRecentMessages: 10 };
    // A first message: the conversation does not exist yet.
    const first = await store.context("ns", "c", options);
    assert.deepEqual(first.messages, []);
    assert.equal(await store.clear("ns", "c"), 0);
    assert.deepEqual(
      await store.appendTurn("ns", "c", turn("started before the delete", "a"), {
        epoch: first.epoch,
      }),
      { stored: false },
    );
    assert.deepEqual(await store.list("ns", "c"), []);

    const second = await store.context("ns", "c", options);
    assert.notEqual(second.epoch, first.epoch);
    assert.deepEqual(
      await store.appendTurn("ns", "c", turn("after the delete", "b"), { epoch: second.epoch }),
      { stored: true },
    );
    // A running turn of the same epoch is still stored: only clear() moves it.
    assert.deepEqual(
      await store.appendTurn("ns", "c", turn("same epoch", "c"), { epoch: second.epoch }),
      { stored: true },
    );
    assert.equal((await store.context("ns", "c", options)).epoch, second.epoch);

    // Clearing one conversation leaves the epochs of others alone.
    const other = await store.context("ns", "other", options);
    const otherNs = await store.context("ns2", "c", options);
    assert.equal(await store.clear("ns", "c"), 4);
    assert.deepEqual(
      await store.appendTurn("ns", "other", turn("x", "y"), { epoch: other.epoch }),
      { stored: true },
    );
    assert.deepEqual(
      await store.appendTurn("ns2", "c", turn("x", "y"), { epoch: otherNs.epoch }),
      { stored: true },
    );
    assert.deepEqual(
      await store.appendTurn("ns", "c", turn("late", "z"), { epoch: second.epoch }),
      { stored: false },
    );
    // Without an epoch a turn is always stored.
    assert.deepEqual(await store.appendTurn("ns", "c", turn("plain", "p")), { stored: true });
    assert.deepEqual((await store.list("ns", "c")).map((m) => m.content), ["plain", "p"]);
  },

  "clear() racing appendTurn() calls leaves nothing of the older epoch": async (store) => {
    const { epoch } = await store.context("ns", "race", {
      query: "",
      tokenBudget: 100,
      maxRecentMessages: 10,
    });
    const appends: Promise<{ stored: boolean }>[] = [];
    for (let i = 0; i < 10; i++) {
      appends.push(store.appendTurn("ns", "race", turn(`q${i}`, `a${i}`), { epoch }));
    }
    const cleared = store.clear("ns", "race");
    for (let i = 10; i < 20; i++) {
      appends.push(store.appendTurn("ns", "race", turn(`q${i}`, `a${i}`), { epoch }));
    }
    await cleared;
    const late = [];
    for (let i = 20; i < 25; i++) {
      late.push(await store.appendTurn("ns", "race", turn(`q${i}`, `a${i}`), { epoch }));
    }
    await Promise.all(appends);
    // Each turn either committed before the clear (and was deleted by it) or was refused.
    assert.deepEqual(await store.list("ns", "race"), []);
    assert.ok(late.every((r) => !r.stored), "appends after the clear are refused");
  },

  "a 1 MiB message is stored whole; its start and end are searchable": async (store) => {
    // 1 MiB of CJK text (3 bytes a character) whose filler shares no
    // character with the three marker words.
    const fillerText = "一二三四五六七八九十".repeat(17_500);
    const content = `长颈鹿${fillerText}企鹅${fillerText}袋鼠`;
    assert.ok(new TextEncoder().encode(content).length >= 1024 * 1024);
    await store.appendTurn("ns", "big", turn(content, "收到"));
    for (let i = 0; i < 3; i++) await store.appendTurn("ns", "big", turn(`闲聊 ${i}`, "好"));
    const stored = await store.list("ns", "big");
    assert.equal(stored[0]!.content, content, "stored whole");
    const recall = (query: string) =>
      store.context("ns", "big", { query, tokenBudget: 400_000, maxRecentMessages: 2 });
    assert.equal((await recall("长颈鹿")).messages[0]!.content, content, "its start is indexed");
    assert.equal((await recall("袋鼠")).messages[0]!.content, content, "its end is indexed");
    assert.equal((await recall("企鹅")).messages.length, 2, "its middle is not indexed");
    // A 1 MiB query: its beginning builds the recall query.
    const bigQuery = await recall(`袋鼠${fillerText}`);
    assert.equal(bigQuery.messages[0]!.content, content);
    // Under an ordinary budget the huge message cannot fit, the rest still can.
    const small = await store.context("ns", "big", {
      query: "长颈鹿",
      tokenBudget: 1000,
      maxRecentMessages: 10,
    });
    assert.deepEqual(small.messages.map((m) => m.content), [
      "闲聊 0",
      "好",
      "闲聊 1",
      "好",
      "闲聊 2",
      "好",
    ]);
  },

  "context() keeps the small answer of a newest turn too big to fit": async (store) => {
    await store.appendTurn("ns", "c", turn("earlier question", "earlier answer"));
    await store.appendTurn("ns", "c", turn("x".repeat(40_000), "short answer"));
    const ctx = await store.context("ns", "c", {
      query: "",
      tokenBudget: 1000,
      maxRecentMessages: 10,
    });
    assert.deepEqual(ctx.messages, [{ role: "assistant", content: "short answer" }]);
  },

  "a reopened store sees what was written": async (store, fixture) => {
    await store.appendTurn("ns", "c", turn("remember the blue door", "blue door noted"));
    await store.clear("ns", "gone");
    const { epoch } = await store.context("ns", "gone", {
      query: "",
      tokenBudget: 10,
      maxRecentMessages: 1,
    });
    const second = await fixture.open();
    try {
      assert.deepEqual((await second.list("ns", "c")).map((m) => m.content), [
        "remember the blue door",
        "blue door noted",
      ]);
      const ctx = await second.context("ns", "c", {
        query: "door",
        tokenBudget: 500,
        maxRecentMessages: 0,
      });
      assert.equal(ctx.messages.length, 2);
      const gone = await second.context("ns", "gone", {
        query: "",
        tokenBudget: 10,
        maxRecentMessages: 1,
      });
      assert.equal(gone.epoch, epoch, "the epoch is persistent");
    } finally {
      await second.close();
    }
  },

  "close() is idempotent and later calls reject": async (store, fixture) => {
    const second = await fixture.open();
    await second.appendTurn("ns", "c", turn("a", "b"));
    await second.close();
    await second.close();
    await assert.rejects(() => second.list("ns", "c"));
    await assert.rejects(() =>
      second.context("ns", "c", { query: "a", tokenBudget: 10, maxRecentMessages: 1 })
    );
    await assert.rejects(() => second.appendTurn("ns", "c", turn("c", "d")));
    await assert.rejects(() => second.clear("ns", "c"));
    assert.equal((await store.list("ns", "c")).length, 2, "the other store is unaffected");
  },
};

/**
 * Runs every case as a step of `t`, each on a fresh database from `factory`.
 * A store implementation passes when every step passes.
 */
export async function runMemoryStoreContract(
  t: Deno.TestContext,
  factory: StoreFactory,
): Promise<void> {
  for (const [name, fn] of Object.entries(CASES)) {
    await t.step(name, async (t) => {
      const fixture = await factory();
      try {
        const store = await fixture.open();
        try {
          await fn(store, fixture, t);
        } finally {
          await store.close();
        }
      } finally {
        await fixture.cleanup();
      }
    });
  }
}
