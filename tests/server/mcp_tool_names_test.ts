/**
 * End to end: a real stdio MCP server whose tools have names OpenAI refuses
 * (dots, slashes, spaces, CJK, emoji, 200 characters, a built-in's name).
 * The provider (the OpenAI mock, which refuses bad names like OpenAI does)
 * sees only valid, unique names; a model call of an offered name reaches the
 * real tool under its real name; `GET /v1/mcp/tools` shows both names.
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";

const FIXTURE = new URL("../tools/fixtures/mcp_dynamic_server.ts", import.meta.url).pathname;
const DENO_CONFIG = new URL("../../deno.json", import.meta.url).pathname;
const VALID = /^[a-zA-Z0-9_-]{1,64}$/;
const TRICKY = [
  "github.search",
  "github/search",
  "say hello",
  "天气",
  "🔥fire",
  "x".repeat(65),
  "y".repeat(200),
  "calculator",
];

interface OfferedTool {
  name: string;
  server: string;
  mcp_name: string;
}

Deno.test("MCP tools with names OpenAI refuses are offered under valid names and still called", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-mcp-names-" });
  const config = `${dir}/mcp.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      mcpServers: {
        "odd.names": {
          command: Deno.execPath(),
          args: ["run", "--quiet", "--allow-all", "--config", DENO_CONFIG, FIXTURE],
          env: { FIXTURE_TOOL_NAMES: JSON.stringify(TRICKY) },
        },
      },
    }),
  );
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test",
    YYCHAT_MCP_CONFIG: config,
  });
  try {
    const mcp = server.app.services.mcp;
    await waitFor(() => mcp.list().length >= TRICKY.length, 30_000, "the fixture's tools");

    const listed = await (await fetch(`${server.http}/v1/mcp/tools`)).json();
    const tools: OfferedTool[] = listed.data;
    for (const real of TRICKY) {
      const tool = tools.find((t) => t.mcp_name === real);
      assert.ok(tool, `GET /v1/mcp/tools lists ${real}`);
      assert.match(tool.name, VALID);
      assert.equal(tool.server, "odd.names");
    }
    const offeredFor = (real: string) => tools.find((t) => t.mcp_name === real)!.name;
    assert.equal(offeredFor("calculator"), "odd_names__calculator");

    mock.enqueue(
      toolCallReply([
        { id: "call_1", name: offeredFor("github.search"), arguments: {} },
        { id: "call_2", name: offeredFor("天气"), arguments: {} },
        { id: "call_3", name: offeredFor("y".repeat(200)), arguments: {} },
      ]),
      textReply("Done."),
    );
    const res = await fetch(`${server.http}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ messages: [{ role: "user", content: "use the odd tools" }] }),
    });
    const completion = await res.json();
    assert.equal(res.status, 200, JSON.stringify(completion));
    assert.equal(completion.choices[0].message.content, "Done.");

    const offered: string[] = mock.completionRequests[0]!.body.tools.map((
      t: { function: { name: string } },
    ) => t.function.name);
    for (const name of offered) assert.match(name, VALID);
    assert.equal(new Set(offered).size, offered.length, `unique: ${offered.join()}`);
    assert.ok(offered.includes("calculator"), "the built-in keeps its name");

    const results = mock.completionRequests[1]!.body.messages
      .filter((m: { role: string }) => m.role === "tool")
      .map((m: { tool_call_id: string; content: string }) => [m.tool_call_id, m.content]);
    assert.deepEqual(
      new Map(results),
      new Map([
        ["call_1", JSON.stringify(`called ${JSON.stringify("github.search")}`)],
        ["call_2", JSON.stringify(`called ${JSON.stringify("天气")}`)],
        ["call_3", JSON.stringify(`called ${JSON.stringify("y".repeat(200))}`)],
      ]),
    );

    const call = await fetch(`${server.http}/v1/mcp/call`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ tool_name: offeredFor("🔥fire"), params: {} }),
    });
    assert.deepEqual(await call.json(), {
      status: "success",
      tool_name: offeredFor("🔥fire"),
      result: `called ${JSON.stringify("🔥fire")}`,
    });
  } finally {
    await server.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
