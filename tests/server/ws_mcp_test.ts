/**
 * End to end: the model (HTTP mock) calls a tool of a real MCP server
 * (`@modelcontextprotocol/server-everything` over stdio, configured the way a
 * user would, through `npx`), and the answer streams back over /ws/chat.
 */
import assert from "node:assert/strict";
import { OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";
import { waitFor } from "../helpers/wait.ts";
import { TestClient } from "../helpers/ws_client.ts";

Deno.test("text_message runs a tool of a real MCP server chosen by the model", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-mcp-" });
  const config = `${dir}/mcp.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      mcpServers: {
        everything: {
          command: "npx",
          args: ["-y", "@modelcontextprotocol/server-everything", "stdio"],
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
    await waitFor(
      () => mcp.list().some((t) => t.name === "echo"),
      60_000,
      "server-everything's tools",
    );
    mock.enqueue(
      toolCallReply([{ id: "call_echo", name: "echo", arguments: { message: "hello from MCP" } }]),
      textReply("The echo tool said hello."),
    );
    const { client } = await TestClient.connect(server.ws);
    client.send({ type: "text_message", content: "use the echo tool", tool_events: true });
    const events = await client.until("stream_end", 30_000);
    await client.close();
    const call = events.find((e) => e.type === "tool_call")!;
    assert.equal(call.name, "echo");
    assert.equal(events.find((e) => e.type === "tool_result")!.ok, true);
    assert.equal(events.at(-1)!.full_content, "The echo tool said hello.");
    const offered = mock.completionRequests[0]!.body.tools.map((
      t: { function: { name: string } },
    ) => t.function.name);
    assert.ok(
      offered.includes("echo") && offered.includes("calculator"),
      "built-in and MCP tools are offered",
    );
    const toolMessage = mock.completionRequests[1]!.body.messages.find((m: { role: string }) =>
      m.role === "tool"
    );
    assert.match(toolMessage.content, /hello from MCP/);
  } finally {
    await server.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
});
