/**
 * `deno task screenshots`: regenerates `docs/screenshots/*.png`, the chat
 * page and the dashboard at desktop (1280×800) and phone (390×844) width,
 * light and dark. A real server (the OpenAI mock scripts the replies, so
 * they show markdown and a tool call) and headless Chromium, as in the tests.
 */
import { launchChromium } from "../helpers/chromium.ts";
import { OpenAIMock, textReply, toolCallReply } from "../helpers/openai_mock.ts";
import { startTestServer } from "../helpers/test_server.ts";

const OUT = new URL("../../docs/screenshots/", import.meta.url);
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const mock = await OpenAIMock.start();
mock.enqueue(
  textReply("Frames cross the wire —\nheartbeats keep the socket warm,\nreplies never lost."),
  toolCallReply([{
    id: "call_1",
    name: "calculator",
    arguments: { operation: "multiply", a: 12, b: 7 },
  }]),
  textReply(
    [
      "**12 × 7 = 84.**",
      "",
      "To stream a reply from a page, use the client module:",
      "",
      "```js",
      'import { YychatClient } from "/web/yychat_client.js";',
      "const client = new YychatClient({ key });",
      "client.connect();",
      'const reply = client.chat({ content: "Hello" });',
      "for await (const event of reply) render(reply.text);",
      "```",
      "",
      "- `stream_chunk` events carry the text as it is written",
      "- `Reply.cancel()` stops it; a lost connection **resumes** by itself",
    ].join("\n"),
  ),
);
const server = await startTestServer({
  OPENAI_BASE_URL: mock.baseUrl,
  OPENAI_API_KEY: "sk-screenshots",
  PROVIDER_MAX_RETRIES: "0",
  LOG_LEVEL: "warn",
});
const chrome = await launchChromium();
try {
  await Deno.mkdir(OUT, { recursive: true });
  const page = await chrome.page(DESKTOP);
  await page.goto(`${server.http}/`);
  await page.waitForSelector("#conn[data-state=open]");
  await page.waitForSelector("#personality option");
  for (
    const [i, text] of [
      "Write a haiku about WebSockets",
      "What is 12 × 7, and how do I stream a reply?",
    ].entries()
  ) {
    if (i > 0) await page.click("#new-conv");
    await page.focus("#input");
    await page.keyboard.type(text);
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      `document.querySelectorAll('.msg.assistant[data-status=done]').length === 1`,
    );
  }
  await page.evaluate("document.activeElement.blur()");

  const shoot = async (
    p: typeof page,
    name: string,
    viewport: { width: number; height: number },
  ) => {
    await p.setViewport(viewport);
    for (const scheme of ["light", "dark"] as const) {
      await p.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
      await new Promise((r) => setTimeout(r, 300));
      const path = new URL(
        `${name}-${viewport === PHONE ? "phone" : "desktop"}-${scheme}.png`,
        OUT,
      );
      await p.screenshot({ path: path.pathname as `${string}.png` });
      console.log(`wrote ${path.pathname}`);
    }
  };
  await shoot(page, "chat", DESKTOP);
  await shoot(page, "chat", PHONE);

  // Some traffic for the dashboard's chart: a client pinging for a few seconds.
  const ws = new WebSocket(server.ws);
  await new Promise((r) => ws.onopen = r);
  const pinger = setInterval(() => ws.send(JSON.stringify({ type: "ping" })), 100);
  const dashboard = await chrome.page(DESKTOP);
  await dashboard.goto(`${server.http}/dashboard`);
  await new Promise((r) => setTimeout(r, 9000));
  clearInterval(pinger);
  ws.close();
  await new Promise((r) => ws.onclose = r);
  await shoot(dashboard, "dashboard", DESKTOP);
  await shoot(dashboard, "dashboard", PHONE);
} finally {
  await chrome.close();
  await server.close();
  await mock.close();
}
