/**
 * A yychat test server whose provider is the OpenAI mock: the setup most
 * integration tests of the two doors share.
 */
import OpenAI from "openai";
import { OpenAIMock } from "./openai_mock.ts";
import { startTestServer, type TestServer } from "./test_server.ts";

/** Runs `fn` against a fresh mock and server (`env` on top of the defaults), then closes both. */
export async function withMockedServer(
  fn: (ctx: { mock: OpenAIMock; server: TestServer }) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "sk-test-provider",
    PROVIDER_MAX_RETRIES: "0",
    ...env,
  });
  try {
    await fn({ mock, server });
  } finally {
    await server.close();
    await mock.close();
  }
}

/**
 * {@linkcode withMockedServer} (the mock's model named `mock-model`) with an
 * `openai` SDK client pointed at yychat's `/v1`.
 */
export function withSdkServer(
  fn: (ctx: { mock: OpenAIMock; server: TestServer; client: OpenAI }) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  return withMockedServer(({ mock, server }) => {
    const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
    return fn({ mock, server, client });
  }, { OPENAI_API_KEY: "upstream-test-key", OPENAI_MODEL: "mock-model", ...env });
}
