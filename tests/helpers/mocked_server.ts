/**
 * A yychat server whose provider is the OpenAI mock, and the official
 * `openai` SDK pointed at yychat: the setup of the REST tests that speak to
 * yychat as an OpenAI client would.
 */
import OpenAI from "openai";
import { OpenAIMock } from "./openai_mock.ts";
import { startTestServer, type TestServer } from "./test_server.ts";

/** Runs `fn` against a fresh mock, server and client; closes the server, then the mock. */
export async function withMockedServer(
  fn: (ctx: { mock: OpenAIMock; server: TestServer; client: OpenAI }) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const mock = await OpenAIMock.start();
  const server = await startTestServer({
    OPENAI_BASE_URL: mock.baseUrl,
    OPENAI_API_KEY: "upstream-test-key",
    OPENAI_MODEL: "mock-model",
    PROVIDER_MAX_RETRIES: "0",
    ...env,
  });
  const client = new OpenAI({ apiKey: "unused", baseURL: server.http + "/v1", maxRetries: 0 });
  try {
    await fn({ mock, server, client });
  } finally {
    await server.close();
    await mock.close();
  }
}
