import assert from "node:assert/strict";
import { loadMcpConfig, McpConfigError, parseMcpConfig } from "../../src/tools/mcp_config.ts";

Deno.test("parseMcpConfig() accepts every supported file shape", async (t) => {
  const stdio = { command: "npx", args: ["-y", "srv"], env: { A: "1" } };
  const expected = [
    { name: "fs", transport: "stdio", command: "npx", args: ["-y", "srv"], env: { A: "1" } },
  ];
  const shapes: [string, unknown][] = [
    ["mcpServers wrapper", { mcpServers: { fs: stdio } }],
    ["bare map", { fs: stdio }],
    ["servers wrapper (VS Code)", { servers: { fs: { ...stdio, type: "stdio" } } }],
    ["mcp_servers list (Python service)", { mcp_servers: [{ name: "fs", ...stdio }] }],
    ["bare list", [{ name: "fs", ...stdio }]],
  ];
  for (const [label, raw] of shapes) {
    await t.step(label, () => {
      assert.deepEqual(parseMcpConfig(raw, "mcp.json"), expected);
    });
  }
});

Deno.test("parseMcpConfig() picks the transport from type, transport or fields", async (t) => {
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["url without type → auto", { url: "http://127.0.0.1:1/mcp" }, { transport: "auto" }],
    ["type sse", { url: "http://h/sse", type: "sse" }, { transport: "sse" }],
    ["transport sse", { url: "http://h/sse", transport: "SSE" }, { transport: "sse" }],
    ["type http", { url: "http://h/mcp", type: "http" }, { transport: "http" }],
    ["streamable-http", { url: "http://h/mcp", type: "streamable-http" }, { transport: "http" }],
    ["streamableHttp", { url: "http://h/mcp", transport: "streamableHttp" }, {
      transport: "http",
    }],
    ["headers kept", { url: "http://h/mcp", headers: { Authorization: "Bearer x" } }, {
      headers: { Authorization: "Bearer x" },
    }],
    ["string args split", { command: "uvx", args: "mcp-server-time --local-timezone UTC" }, {
      transport: "stdio",
      args: ["mcp-server-time", "--local-timezone", "UTC"],
    }],
    ["cwd and numeric env", { command: "node", cwd: "/tmp", env: { PORT: 3000 } }, {
      cwd: "/tmp",
      env: { PORT: "3000" },
      args: [],
    }],
  ];
  for (const [label, raw, fields] of cases) {
    await t.step(label, () => {
      const [server] = parseMcpConfig(
        { mcpServers: { s: { ...raw, note: "extra ignored" } } },
        "f",
      );
      assert.ok(server);
      for (const [k, v] of Object.entries(fields)) {
        assert.deepEqual((server as unknown as Record<string, unknown>)[k], v, k);
      }
    });
  }
});

Deno.test("parseMcpConfig() skips disabled servers", () => {
  const servers = parseMcpConfig({
    mcpServers: {
      a: { command: "a", disabled: true },
      b: { command: "b", enabled: false },
      c: { command: "c", disabled: false },
    },
  }, "f");
  assert.deepEqual(servers.map((s) => s.name), ["c"]);
});

Deno.test("parseMcpConfig() reports every bad server with the file path", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["no command or url", { mcpServers: { x: { args: [] } } }, /server "x": needs "command"/],
    ["bad url", { mcpServers: { x: { url: "ftp://h" } } }, /server "x".url: must be an http/],
    [
      "unknown transport",
      { x: { url: "http://h", type: "websocket" } },
      /unknown transport "websocket"/,
    ],
    [
      "stdio without command",
      { x: { type: "stdio", url: "http://h" } },
      /stdio transport needs "command"/,
    ],
    ["list entry without name", [{ command: "a" }], /server #0: needs a "name"/],
    ["duplicate name", [{ name: "a", command: "a" }, { name: "a", command: "b" }], /defined twice/],
    ["not an object", 42, /expected an object or a list/],
    ["server not an object", { x: "npx foo" }, /server "x"/],
  ];
  for (const [label, raw, pattern] of cases) {
    await t.step(label, () => {
      assert.throws(() => parseMcpConfig(raw, "/etc/yychat/mcp.json"), (err: unknown) => {
        assert.ok(err instanceof McpConfigError);
        assert.match(err.message, /Invalid MCP config "\/etc\/yychat\/mcp\.json"/);
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
});

Deno.test("loadMcpConfig() treats a missing file as no servers and names a broken one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat_mcpcfg_" });
  try {
    assert.deepEqual(await loadMcpConfig(`${dir}/missing.json`), []);
    await Deno.writeTextFile(`${dir}/empty.json`, "");
    assert.deepEqual(await loadMcpConfig(`${dir}/empty.json`), []);
    await Deno.writeTextFile(`${dir}/bad.json`, "{ not json");
    await assert.rejects(() => loadMcpConfig(`${dir}/bad.json`), (err: unknown) => {
      assert.ok(err instanceof McpConfigError);
      assert.match(err.message, new RegExp(`Invalid MCP config "${dir}/bad.json"`));
      return true;
    });
    await Deno.writeTextFile(
      `${dir}/ok.json`,
      JSON.stringify({ mcpServers: { web: { url: "http://127.0.0.1:9/mcp", type: "http" } } }),
    );
    assert.deepEqual(await loadMcpConfig(`${dir}/ok.json`), [
      { name: "web", transport: "http", url: "http://127.0.0.1:9/mcp" },
    ]);
    // The shipped config parses.
    assert.deepEqual(
      await loadMcpConfig(new URL("../../config/mcp.json", import.meta.url).pathname),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
