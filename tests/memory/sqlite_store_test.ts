import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import type { ChatMessage } from "../../src/core/chat.ts";
import { SqliteMemoryStore, toFtsQuery } from "../../src/memory/sqlite_store.ts";
import { estimateMessageTokens, estimateTokens } from "../../src/memory/tokens.ts";

async function withStore(
  fn: (store: SqliteMemoryStore, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
  const store = new SqliteMemoryStore({ dataDir: `${dir}/data` });
  try {
    await fn(store, dir);
  } finally {
    store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function turn(user: string, assistant: string): ChatMessage[] {
  return [{ role: "user", content: user }, { role: "assistant", content: assistant }];
}

function toolTurn(user: string, callId: string, result: string, answer: string): ChatMessage[] {
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
function assertToolPairsIntact(messages: ChatMessage[]): void {
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

Deno.test("SqliteMemoryStore.appendTurn() then list() returns the turn in order", async () => {
  await withStore(async (store) => {
    await store.appendTurn("ns", "c1", toolTurn("add 1 and 2", "call_1", "3", "It is 3"));
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
    assert.ok(Math.abs(all[0]!.created_at - Date.now() / 1000) < 60);
    const last2 = await store.list("ns", "c1", 2);
    assert.deepEqual(last2.map((m) => m.content), ["thanks", "you're welcome"]);
  });
});

Deno.test("SqliteMemoryStore.clear() removes only that conversation and its recall", async () => {
  await withStore(async (store) => {
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
    assert.deepEqual(ctx, []);
    assert.equal(await store.clear("ns", "c1"), 0);
  });
});

Deno.test("SqliteMemoryStore keeps namespaces apart", async () => {
  await withStore(async (store) => {
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
    assert.deepEqual(ctx, []);
    assert.equal(await store.clear("key-b", "shared"), 2);
    assert.equal((await store.list("key-a", "shared")).length, 2);
  });
});

Deno.test("SqliteMemoryStore.context() recalls an old relevant turn beyond the recent window", async () => {
  await withStore(async (store) => {
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
    assert.equal(ctx[0]!.content, "My favourite programming language is Haskell");
    assert.equal(ctx[1]!.content, "Noted: Haskell.");
    // Then the 6 most recent messages, chronological.
    assert.deepEqual(ctx.slice(2).map((m) => m.content), [
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
    assert.equal(plain.length, 6);
  });
});

Deno.test("SqliteMemoryStore.context() recalls Chinese text by a two-character word", async (t) => {
  await withStore(async (store) => {
    await store.appendTurn("ns", "zh", turn("我最喜欢吃北京烤鸭", "好的，记住了：烤鸭。"));
    await store.appendTurn("ns", "zh", turn("我住在上海浦东", "上海是个好地方。"));
    for (let i = 0; i < 10; i++) {
      await store.appendTurn("ns", "zh", turn(`今天天气怎么样 ${i}`, `天气晴朗 ${i}`));
    }
    const cases: [string, string][] = [
      ["我喜欢吃什么？烤鸭还是别的", "我最喜欢吃北京烤鸭"],
      ["上海", "我住在上海浦东"],
      ["你还记得北京吗", "我最喜欢吃北京烤鸭"],
    ];
    for (const [query, expected] of cases) {
      await t.step(query, async () => {
        const ctx = await store.context("ns", "zh", {
          query,
          tokenBudget: 2000,
          maxRecentMessages: 4,
        });
        assert.ok(
          ctx.some((m) => m.content === expected),
          `expected "${expected}" in ${JSON.stringify(ctx.map((m) => m.content))}`,
        );
        assert.equal(ctx.length, 6, "one recalled turn plus 4 recent messages");
      });
    }
  });
});

Deno.test("SqliteMemoryStore.context() respects the token budget", async () => {
  await withStore(async (store) => {
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
      const used = ctx.reduce((n, m) => n + estimateMessageTokens(m), 0);
      assert.ok(used <= budget, `used ${used} > budget ${budget}`);
      if (budget >= 600) assert.equal(ctx.at(-1)!.content, `${long} answer 19`);
      if (budget >= 1100) assert.ok(ctx.length >= 4, `budget ${budget} gave ${ctx.length}`);
    }
    // Without recall the recent window is whole turns: 2 turns fit in 1100.
    const ctx = await store.context("ns", "c", {
      query: "",
      tokenBudget: 1100,
      maxRecentMessages: 10,
    });
    assert.deepEqual(
      ctx.map((m) => m.content!.slice(-9)),
      [
        "estion 18",
        " answer 18",
        "estion 19",
        " answer 19",
      ].map((s) => s.slice(-9)),
    );
  });
});

Deno.test("SqliteMemoryStore.context() keeps tool pairs together", async (t) => {
  await withStore(async (store) => {
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
          assertToolPairsIntact(ctx);
          assert.notEqual(ctx[0]?.role, "tool");
          const used = ctx.reduce((n, m) => n + estimateMessageTokens(m), 0);
          assert.ok(used <= budget);
        });
      }
    }
    const ctx = await store.context("ns", "c", {
      query: "",
      tokenBudget: 1000,
      maxRecentMessages: 3,
    });
    // The newest units that fit: the last tool round and the final answer.
    assert.deepEqual(ctx.map((m) => m.role), ["assistant", "tool", "assistant"]);
    assert.equal(ctx[1]!.tool_call_id, "b3");
  });
});

Deno.test("SqliteMemoryStore.context() never throws on hostile query text", async (t) => {
  await withStore(async (store) => {
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
      "😀🎉",
      "",
      "   ",
      "\u0000\u0001",
      "ＡＢＣ全角",
      "NEAR",
    ];
    for (const q of queries) {
      await t.step(JSON.stringify(q), async () => {
        const ctx = await store.context("ns", "c", {
          query: q,
          tokenBudget: 1000,
          maxRecentMessages: 2,
        });
        assert.equal(ctx.at(-1)!.content, "filler");
      });
    }
    assert.equal((await store.list("ns", "c")).length, 4);
    const near = await store.context("ns", "c", {
      query: "NEAR",
      tokenBudget: 1000,
      maxRecentMessages: 2,
    });
    assert.equal(near[0]!.content, 'he said "NEAR(a b)" AND x*');
  });
});

Deno.test("toFtsQuery() quotes terms and splits CJK into bigrams", () => {
  assert.equal(toFtsQuery('the "quick" fox*'), '"quick" OR "fox"');
  assert.equal(toFtsQuery("北京烤鸭"), '"北 京" OR "京 烤" OR "烤 鸭"');
  assert.equal(toFtsQuery("AI模型 v2"), '"ai" OR "模 型" OR "v2"');
  assert.equal(toFtsQuery("?? !!"), "");
});

Deno.test("estimateTokens() counts CJK characters as one token each", () => {
  assert.equal(estimateTokens(""), 0);
  assert.equal(estimateTokens("abcd"), 1);
  assert.equal(estimateTokens("abcde"), 2);
  assert.equal(estimateTokens("北京烤鸭"), 4);
  assert.equal(estimateTokens("𠀀𠀁"), 2);
});

Deno.test("SqliteMemoryStore persists across reopen with WAL and schema version", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_mem_" });
  try {
    const first = new SqliteMemoryStore({ dataDir: dir });
    await first.appendTurn("ns", "c", turn("remember the blue door", "blue door noted"));
    first.close();
    await assert.rejects(() => first.list("ns", "c"), /is closed/);

    const second = new SqliteMemoryStore({ dataDir: dir });
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
      assert.equal(ctx.length, 2);
    } finally {
      second.close();
    }
    const raw = new DatabaseSync(`${dir}/yychat.db`);
    try {
      assert.equal(raw.prepare("PRAGMA journal_mode").get()!.journal_mode, "wal");
      assert.equal(raw.prepare("PRAGMA user_version").get()!.user_version, 1);
      raw.exec("PRAGMA user_version = 99");
    } finally {
      raw.close();
    }
    assert.throws(() => new SqliteMemoryStore({ dataDir: dir }), /schema version 99 is newer/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
