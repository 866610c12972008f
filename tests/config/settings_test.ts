import assert from "node:assert/strict";
import { parseEnvFile } from "../../config/env_file.ts";
import { ConfigError, loadSettings } from "../../config/settings.ts";

Deno.test("loadSettings() uses the seed's defaults with an empty environment", () => {
  const s = loadSettings({});
  assert.equal(s.host, "127.0.0.1");
  assert.equal(s.port, 9800);
  assert.deepEqual(
    [s.ws.maxConnections, s.ws.heartbeatIntervalMs, s.ws.connectionTimeoutMs, s.ws.maxMessageBytes],
    [100, 30_000, 300_000, 1024 * 1024],
  );
  assert.deepEqual(s.apiKeys, []);
  assert.equal(s.provider.apiKey, undefined);
  assert.equal(s.dataDir, "./data");
  assert.equal(s.logLevel, "info");
});

Deno.test("loadSettings() applies overrides with their units", () => {
  const s = loadSettings({
    WS_MAX_CONNECTIONS: "5",
    WS_HEARTBEAT_INTERVAL: "1.5",
    WS_CONNECTION_TIMEOUT: "10",
    WS_MESSAGE_SIZE_LIMIT: "2048",
    YYCHAT_API_KEY: " k1 , k2 ,",
    YYCHAT_ALLOWED_ORIGINS: "https://a.example,https://b.example",
    USE_TOOLS_DEFAULT: "false",
    LOG_LEVEL: "DEBUG",
  });
  assert.equal(s.ws.maxConnections, 5);
  assert.equal(s.ws.heartbeatIntervalMs, 1500);
  assert.equal(s.ws.connectionTimeoutMs, 10_000);
  assert.equal(s.ws.maxMessageBytes, 2048);
  assert.deepEqual(s.apiKeys, ["k1", "k2"]);
  assert.deepEqual(s.allowedOrigins, ["https://a.example", "https://b.example"]);
  assert.equal(s.useToolsDefault, false);
  assert.equal(s.logLevel, "debug");
});

Deno.test("loadSettings() rejects bad values naming each variable and its range", async (t) => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { WS_MAX_CONNECTIONS: "0" },
      /WS_MAX_CONNECTIONS must be an integer from 1 to 1000000 \(got "0"\)/,
    ],
    [{ WS_MESSAGE_SIZE_LIMIT: "1.5" }, /WS_MESSAGE_SIZE_LIMIT must be an integer/],
    [{ WS_HEARTBEAT_INTERVAL: "soon" }, /WS_HEARTBEAT_INTERVAL must be a number of seconds from/],
    [{ OPENAI_TEMPERATURE: "3" }, /OPENAI_TEMPERATURE must be a number from 0 to 2/],
    [{ STREAM_DEFAULT: "maybe" }, /STREAM_DEFAULT must be true or false/],
    [{ OPENAI_BASE_URL: "not a url" }, /OPENAI_BASE_URL must be an http\(s\) URL/],
    [{ DEFAULT_TIMEZONE: "Mars/Olympus" }, /DEFAULT_TIMEZONE must be an IANA time zone/],
    [
      { YYCHAT_DATABASE_URL: "mysql://yy:hunter2@db/chat" },
      /YYCHAT_DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL \(got "mysql:\/\/yy:\*\*\*@db\/chat"\)/,
    ],
    [
      { YYCHAT_DATABASE_CONNECT_TIMEOUT: "0" },
      /YYCHAT_DATABASE_CONNECT_TIMEOUT must be a number of seconds from 0.1 to 300/,
    ],
    [{ YYCHAT_DATABASE_POOL_SIZE: "0" }, /YYCHAT_DATABASE_POOL_SIZE must be an integer from 1/],
  ];
  for (const [env, message] of cases) {
    await t.step(Object.keys(env)[0]!, () => {
      assert.throws(() => loadSettings(env), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      });
    });
  }
  await t.step("several bad values are all reported", () => {
    assert.throws(
      () => loadSettings({ SERVER_PORT: "x", WS_MAX_CONNECTIONS: "y" }),
      /SERVER_PORT[\s\S]*WS_MAX_CONNECTIONS/,
    );
  });
});

Deno.test("loadSettings() never echoes an API key in its error", () => {
  assert.throws(
    () => loadSettings({ YYCHAT_API_KEY: "sk-secret", WS_MAX_CONNECTIONS: "x" }),
    (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.doesNotMatch(err.message, /sk-secret/);
      return true;
    },
  );
});

Deno.test("parseEnvFile() reads KEY=VALUE lines, quotes, comments and export", () => {
  const env = parseEnvFile([
    "# comment",
    "SERVER_PORT=9900",
    "export LOG_LEVEL=debug",
    'OPENAI_MODEL="gpt-4o mini"',
    "YYCHAT_API_KEY='a#b'",
    "WS_MAX_CONNECTIONS=50 # inline comment",
    "not a line",
    "",
  ].join("\n"));
  assert.deepEqual(env, {
    SERVER_PORT: "9900",
    LOG_LEVEL: "debug",
    OPENAI_MODEL: "gpt-4o mini",
    YYCHAT_API_KEY: "a#b",
    WS_MAX_CONNECTIONS: "50",
  });
});

Deno.test("loadSettings() reads the PostgreSQL memory settings", () => {
  assert.deepEqual(loadSettings({}).database, {
    url: undefined,
    connectTimeoutMs: 5000,
    poolSize: 10,
  });
  assert.deepEqual(
    loadSettings({
      YYCHAT_DATABASE_URL: "postgresql://yy@%2Fvar%2Frun%2Fpostgresql/chat",
      YYCHAT_DATABASE_CONNECT_TIMEOUT: "0.5",
      YYCHAT_DATABASE_POOL_SIZE: "3",
    }).database,
    { url: "postgresql://yy@%2Fvar%2Frun%2Fpostgresql/chat", connectTimeoutMs: 500, poolSize: 3 },
  );
});
