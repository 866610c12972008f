/**
 * The chat page (`GET /`) in headless Chromium against a real yychat server:
 * streaming, tool calls, stop (button and Esc), keyboard-only use, a wrong
 * key, sanitised markdown, a phone-width layout, conversations across
 * reloads, and a reload in the middle of a reply (SPEC §9). The OpenAI mock
 * scripts replies where the offline provider cannot (slow streams, markdown
 * with HTML in it).
 */
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";
import {
  type Chromium,
  hasChromium,
  launchChromium,
  textOf,
  warnIfNoChromium,
  watchProblems,
} from "../helpers/chromium.ts";
import { OpenAIMock, textReply } from "../helpers/openai_mock.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";

warnIfNoChromium("tests/browser/chat_page_test.ts");

const KEY = "sk-page-test-key";

interface Ctx {
  server: TestServer;
  mock?: OpenAIMock;
  chrome: Chromium;
  page: Page;
  problems: string[];
}

/** A server (offline provider, or the OpenAI mock with `useMock`), Chromium, one page. */
async function withChatPage(
  options: {
    env?: Record<string, string>;
    useMock?: boolean;
    viewport?: { width: number; height: number };
    /** Console errors this test expects (each must be seen at least once). */
    expectConsole?: RegExp[];
  },
  fn: (ctx: Ctx) => Promise<void>,
): Promise<void> {
  const mock = options.useMock ? await OpenAIMock.start() : undefined;
  const server = await startTestServer({
    ...(mock
      ? {
        OPENAI_BASE_URL: mock.baseUrl,
        OPENAI_API_KEY: "sk-test-provider",
        PROVIDER_MAX_RETRIES: "0",
      }
      : {}),
    ...options.env,
  });
  let chrome: Chromium | undefined;
  try {
    chrome = await launchChromium();
    const page = await chrome.page(options.viewport);
    const problems = watchProblems(page);
    await fn({ server, mock, chrome, page, problems });
    const expected = options.expectConsole ?? [];
    for (const re of expected) assert.ok(problems.some((p) => re.test(p)), `expected ${re}`);
    const unexpected = problems.filter((p) => !expected.some((re) => re.test(p)));
    assert.deepEqual(unexpected, [], "no page errors, no CSP refusals");
  } finally {
    await chrome?.close();
    await server.close();
    await mock?.close();
  }
}

async function openChat(page: Page, server: TestServer): Promise<void> {
  await page.goto(`${server.http}/`);
  await page.waitForSelector("#conn[data-state=open]");
  await page.waitForSelector("#personality option");
}

async function sendByKeyboard(page: Page, text: string): Promise<void> {
  await page.focus("#input");
  await page.keyboard.type(text);
  await page.keyboard.press("Enter");
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `w${i + 1}`).join(" ");

Deno.test({
  name:
    "chat page: a message streams a reply, the tool call is shown, the conversation survives a reload",
  ignore: !hasChromium,
  async fn() {
    await withChatPage({}, async ({ server, page }) => {
      await openChat(page, server);
      await sendByKeyboard(page, "what is 6 * 7?");
      await page.waitForSelector(".msg.assistant[data-status=done]");
      assert.match(await textOf(page, ".msg.assistant .markdown"), /42/);
      assert.match(await textOf(page, ".msg.assistant .tool.ok"), /calculator/);
      assert.equal(await textOf(page, ".msg.user"), "You said:\nwhat is 6 * 7?");
      assert.equal(await textOf(page, ".conv-open[aria-current=true]"), "what is 6 * 7?");
      assert.equal(
        await page.evaluate("document.activeElement.id"),
        "input",
        "focus stays in the input",
      );

      await page.reload();
      await page.waitForSelector(".msg.assistant[data-status=done]");
      assert.match(await textOf(page, ".msg.assistant .markdown"), /42/, "kept across reloads");
      await page.click("#new-conv");
      await page.waitForSelector(".empty");
      assert.equal(await page.evaluate("document.querySelectorAll('.conv-open').length"), 2);
    });
  },
});

Deno.test({
  name: "chat page: Stop ends a reply mid-stream and the provider request is aborted",
  ignore: !hasChromium,
  async fn() {
    await withChatPage({ useMock: true }, async ({ server, mock, page }) => {
      mock!.enqueue(textReply(words(300), { chunkDelayMs: 40 }));
      await openChat(page, server);
      await sendByKeyboard(page, "count slowly");
      await page.waitForFunction(
        "(document.querySelector('.msg.assistant .markdown')?.innerText ?? '').includes('w3')",
      );
      assert.equal(await page.evaluate("document.querySelector('#stop').hidden"), false);
      await page.click("#stop");
      await page.waitForSelector(".msg.assistant[data-status=cancelled]");
      const text = await textOf(page, ".msg.assistant .markdown");
      assert.ok(!text.includes("w300"), "stopped before the end");
      assert.match(await textOf(page, ".msg.assistant"), /Stopped\./);
      await mock!.waitForAbort();
      assert.equal(await page.evaluate("document.querySelector('#stop').hidden"), true);
    });
  },
});

Deno.test({
  name: "chat page: keyboard only — Tab to the input, Enter sends, Esc stops",
  ignore: !hasChromium,
  async fn() {
    await withChatPage({ useMock: true }, async ({ server, mock, page }) => {
      mock!.enqueue(textReply("Short answer."), textReply(words(300), { chunkDelayMs: 40 }));
      await openChat(page, server);
      await page.evaluate("document.activeElement.blur()");
      const order: string[] = [];
      for (let i = 0; i < 20; i++) {
        await page.keyboard.press("Tab");
        const id = await page.evaluate(
          "document.activeElement.id || document.activeElement.tagName",
        );
        order.push(String(id));
        if (id === "input") break;
      }
      assert.equal(order.at(-1), "input", `Tab reaches the message box: ${order.join(" → ")}`);
      assert.ok(order.indexOf("personality") < order.indexOf("input"), order.join(" → "));
      await page.keyboard.type("first line");
      await page.keyboard.down("Shift");
      await page.keyboard.press("Enter");
      await page.keyboard.up("Shift");
      await page.keyboard.type("second line");
      assert.equal(
        await page.evaluate("document.querySelector('#input').value"),
        "first line\nsecond line",
      );
      await page.keyboard.press("Enter");
      await page.waitForSelector(".msg.assistant[data-status=done]");
      assert.equal(await textOf(page, ".msg.assistant .markdown"), "Short answer.");
      assert.equal(
        mock!.completionRequests[0]!.body.messages.at(-1).content,
        "first line\nsecond line",
      );

      await page.keyboard.type("count slowly");
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        "(document.querySelectorAll('.msg.assistant .markdown')[1]?.innerText ?? '').includes('w3')",
      );
      await page.keyboard.press("Escape");
      await page.waitForSelector(".msg.assistant[data-status=cancelled]");
    });
  },
});

Deno.test({
  name: "chat page: a wrong key gets a clear message; the right one connects",
  ignore: !hasChromium,
  async fn() {
    const options = {
      env: { YYCHAT_API_KEY: KEY },
      // Chromium's own words for the refused upgrade (the page cannot silence it).
      expectConsole: [/^console: WebSocket connection to .* failed: HTTP Authentication failed/],
    };
    await withChatPage(options, async ({ server, page }) => {
      await page.goto(`${server.http}/`);
      // No key yet: the page asks for one.
      await page.waitForSelector("#key-dialog[open]");
      await page.type("#key-input", "sk-not-the-key");
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        "document.querySelector('#conn-text').innerText === 'Key not accepted'",
      );
      await page.waitForSelector("#key-dialog[open]");
      assert.match(await textOf(page, "#key-error"), /did not accept your API key/);
      assert.match(await textOf(page, "#banner"), /did not accept your API key/);
      assert.match(await textOf(page, "#banner .error-code"), /invalid_api_key/);

      await page.click("#key-input", { count: 3 });
      await page.keyboard.press("Backspace");
      await page.type("#key-input", KEY);
      await page.keyboard.press("Enter");
      await page.waitForSelector("#conn[data-state=open]");
      await page.waitForSelector("#personality option");
      assert.equal(await page.evaluate("document.querySelector('#banner').hidden"), true);
      assert.equal(await page.evaluate("localStorage.getItem('yychat.key')"), KEY, "remembered");
      await sendByKeyboard(page, "hello");
      await page.waitForSelector(".msg.assistant[data-status=done]");

      await page.click("#key-button");
      await page.click("#key-forget");
      assert.equal(await page.evaluate("localStorage.getItem('yychat.key')"), null, "forgotten");
      // The server wants a key: the page asks again.
      await page.waitForSelector("#key-dialog[open]");
    });
  },
});

Deno.test({
  name: "chat page: markdown is rendered; <script> and onerror in a reply never run",
  ignore: !hasChromium,
  async fn() {
    const options = {
      useMock: true,
      // DOMPurify parses the reply in an inert document; Chromium still checks the
      // handler attribute against the page's CSP there and says so. Nothing runs.
      expectConsole: [/inline event handler .* has been blocked.*\(from \/web\/vendor\/purify-/],
    };
    await withChatPage(options, async ({ server, mock, page }) => {
      mock!.enqueue(textReply(
        [
          "**bold** and `code`",
          "",
          "<script>window.__xss = 1</script>",
          "",
          '<img src="x" onerror="window.__xss = 2">',
          "",
          '[a link](javascript:window.__xss=3) <svg onload="window.__xss=4"></svg>',
          "",
          "- one",
          "- two",
        ].join("\n"),
      ));
      await openChat(page, server);
      await sendByKeyboard(page, "show me markdown");
      await page.waitForSelector(".msg.assistant[data-status=done]");
      assert.equal(await textOf(page, ".msg.assistant .markdown strong"), "bold");
      assert.equal(await textOf(page, ".msg.assistant .markdown code"), "code");
      assert.equal(await page.evaluate("document.querySelectorAll('.msg.assistant li').length"), 2);
      assert.equal(await page.evaluate("document.querySelectorAll('#log script').length"), 0);
      assert.equal(
        await page.evaluate("document.querySelectorAll('#log [onerror], #log [onload]').length"),
        0,
      );
      assert.equal(
        await page.evaluate(
          "[...document.querySelectorAll('#log a')].some((a) => /^javascript:/i.test(a.getAttribute('href') ?? ''))",
        ),
        false,
      );
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await page.evaluate("typeof window.__xss"), "undefined", "nothing ran");
    });
  },
});

Deno.test({
  name: "chat page: a phone-width viewport renders long replies without horizontal scroll",
  ignore: !hasChromium,
  async fn() {
    await withChatPage({ useMock: true, viewport: { width: 390, height: 844 } }, async (ctx) => {
      const { server, mock, page } = ctx;
      mock!.enqueue(textReply(
        [
          `A long word: ${"x".repeat(300)}`,
          "",
          "```",
          `const line = "${"y".repeat(300)}";`,
          "```",
          "",
          "| a | b | c | d | e | f |",
          "|---|---|---|---|---|---|",
          `| ${"cell ".repeat(10)} | 2 | 3 | 4 | 5 | 6 |`,
          "",
          `https://example.com/${"z".repeat(200)}`,
        ].join("\n"),
      ));
      await openChat(page, server);
      await sendByKeyboard(page, "something wide");
      await page.waitForSelector(".msg.assistant[data-status=done]");
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.equal(overflow, 0, "no horizontal scroll");
      assert.equal(await page.evaluate("window.scrollX"), 0);
      // The conversation list sits behind a button on a phone.
      assert.equal(
        await page.evaluate("getComputedStyle(document.querySelector('#sidebar')).visibility"),
        "hidden",
      );
      await page.click("#toggle-sidebar");
      await page.waitForFunction("document.activeElement.id === 'new-conv'");
      assert.equal(
        await page.evaluate("getComputedStyle(document.querySelector('#sidebar')).visibility"),
        "visible",
      );
    });
  },
});

Deno.test({
  name: "chat page: a reload in the middle of a reply resumes it, with no text duplicated",
  ignore: !hasChromium,
  async fn() {
    await withChatPage({ useMock: true }, async ({ server, mock, page }) => {
      const expected = words(60);
      mock!.enqueue(textReply(expected, { chunkDelayMs: 60 }));
      await openChat(page, server);
      await sendByKeyboard(page, "count slowly");
      await page.waitForFunction(
        "(document.querySelector('.msg.assistant .markdown')?.innerText ?? '').includes('w8')",
      );
      await page.reload();
      await page.waitForSelector(".msg.assistant");
      // Until the end, whatever is shown is a prefix of the reply: nothing twice, nothing skipped.
      const samples: string[] = [];
      for (let i = 0; i < 150; i++) {
        const status = await page.evaluate(
          "document.querySelector('.msg.assistant')?.dataset.status",
        );
        samples.push((await textOf(page, ".msg.assistant .markdown")).trim());
        if (status !== "running") break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await page.waitForSelector(".msg.assistant[data-status=done]");
      for (const s of samples) assert.ok(expected.startsWith(s), `shown text is a prefix: "${s}"`);
      assert.equal((await textOf(page, ".msg.assistant .markdown")).trim(), expected);
      assert.equal(mock!.completionRequests.length, 1, "the reply was not asked for twice");
      assert.equal(mock!.requests.some((r) => r.aborted), false, "the reload did not cancel it");
    });
  },
});
