import assert from "node:assert/strict";
import { createTavilyTool } from "../../src/tools/tavily.ts";

interface Seen {
  path: string;
  auth: string | null;
  // deno-lint-ignore no-explicit-any
  body: any;
}

async function withTavilyMock(
  respond: (seen: Seen) => Response | Promise<Response>,
  fn: (baseUrl: string, seen: Seen[]) => Promise<void>,
) {
  const ac = new AbortController();
  const seen: Seen[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const s = {
        path: new URL(req.url).pathname,
        auth: req.headers.get("authorization"),
        body: await req.json(),
      };
      seen.push(s);
      return respond(s);
    },
  );
  try {
    await fn(`http://127.0.0.1:${server.addr.port}`, seen);
  } finally {
    ac.abort();
    await server.finished;
  }
}

const signal = new AbortController().signal;

Deno.test("createTavilyTool() posts the query and returns answer and results", async () => {
  await withTavilyMock(
    () =>
      Response.json({
        answer: "Deno 2 was released in October 2024.",
        results: [
          {
            title: "Deno 2",
            url: "https://deno.com/blog/v2.0",
            content: "Deno 2 is here",
            score: 0.9,
          },
          { title: "Other", url: "https://example.com", content: "x", raw_content: "ignored" },
        ],
        response_time: 0.5,
      }),
    async (baseUrl, seen) => {
      const tool = createTavilyTool({ apiKey: "tvly-secret", baseUrl });
      const result = await tool.call({ query: "deno 2 release", max_results: 3 }, { signal });
      assert.deepEqual(result, {
        query: "deno 2 release",
        answer: "Deno 2 was released in October 2024.",
        results: [
          {
            title: "Deno 2",
            url: "https://deno.com/blog/v2.0",
            content: "Deno 2 is here",
            score: 0.9,
          },
          { title: "Other", url: "https://example.com", content: "x" },
        ],
      });
      assert.equal(seen[0]!.path, "/search");
      assert.equal(seen[0]!.auth, "Bearer tvly-secret");
      assert.equal(seen[0]!.body.query, "deno 2 release");
      assert.equal(seen[0]!.body.max_results, 3);
    },
  );
});

Deno.test("createTavilyTool() reports HTTP failures without the key", async () => {
  await withTavilyMock(
    () => Response.json({ detail: { error: "Invalid key tvly-secret" } }, { status: 401 }),
    async (baseUrl) => {
      const tool = createTavilyTool({ apiKey: "tvly-secret", baseUrl });
      await assert.rejects(() => tool.call({ query: "x" }, { signal }), (err: unknown) => {
        assert.match((err as Error).message, /^Tavily search failed: HTTP 401/);
        assert.ok(!(err as Error).message.includes("tvly-secret"));
        return true;
      });
    },
  );
});

Deno.test("createTavilyTool() rejects an empty query before any request", async () => {
  await withTavilyMock(() => Response.json({}), async (baseUrl, seen) => {
    const tool = createTavilyTool({ apiKey: "k", baseUrl });
    await assert.rejects(() => tool.call({ query: "  " }, { signal }), TypeError);
    assert.equal(seen.length, 0);
  });
});

Deno.test("createTavilyTool() aborts the HTTP request with the signal", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  await withTavilyMock(async () => {
    await gate;
    return Response.json({ results: [] });
  }, async (baseUrl) => {
    const tool = createTavilyTool({ apiKey: "k", baseUrl });
    const ac = new AbortController();
    const pending = tool.call({ query: "slow" }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(() => pending, { name: "AbortError" });
    release();
  });
});
