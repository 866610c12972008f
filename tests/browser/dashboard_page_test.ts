/**
 * The operator page (`GET /dashboard`) in headless Chromium against a real
 * yychat server: it follows the connection a chat page holds within a few
 * polls, works without `/metrics` (shows "—" and says why), asks for the key
 * when the server has one, and fits a phone-width screen.
 */
import assert from "node:assert/strict";
import {
  type Chromium,
  hasChromium,
  launchChromium,
  textOf,
  warnIfNoChromium,
  watchProblems,
} from "../helpers/chromium.ts";
import { startTestServer, type TestServer } from "../helpers/test_server.ts";

warnIfNoChromium("tests/browser/dashboard_page_test.ts");

const KEY = "sk-dashboard-test-key";

/** A yychat server (with `env`) and headless Chromium, both closed after `fn`. */
async function withBrowser(
  env: Record<string, string>,
  fn: (server: TestServer, chrome: Chromium) => Promise<void>,
): Promise<void> {
  const server = await startTestServer(env);
  let chrome: Chromium | undefined;
  try {
    chrome = await launchChromium();
    await fn(server, chrome);
  } finally {
    await chrome?.close();
    await server.close();
  }
}

Deno.test({
  name: "dashboard: shows the connection a chat page holds, and its end, within a few polls",
  ignore: !hasChromium,
  async fn() {
    await withBrowser({}, async (server, chrome) => {
      const dashboard = await chrome.page();
      const problems = watchProblems(dashboard);
      await dashboard.goto(`${server.http}/dashboard`);
      await dashboard.waitForFunction("document.querySelector('#v-connections').innerText === '0'");

      const chat = await chrome.page();
      await chat.goto(`${server.http}/`);
      await chat.waitForSelector("#conn[data-state=open]");
      // The dashboard polls slower while hidden; the operator is looking at it.
      await dashboard.bringToFront();
      await dashboard.waitForFunction(
        "document.querySelector('#v-connections').innerText === '1'",
        { timeout: 8000 },
      );
      assert.match(await textOf(dashboard, "#s-connections"), /of 100 max/);
      assert.match(await textOf(dashboard, "#conn-text"), /^Live · updated/);
      assert.match(await textOf(dashboard, "#mcp"), /No MCP servers configured/);

      await chat.close();
      await dashboard.waitForFunction(
        "document.querySelector('#v-connections').innerText === '0'",
        { timeout: 8000 },
      );
      assert.deepEqual(problems, []);
    });
  },
});

Deno.test({
  name: "dashboard: without /metrics the missing figures show — and the page says why",
  ignore: !hasChromium,
  async fn() {
    await withBrowser({}, async (server, chrome) => {
      const metrics = await fetch(`${server.http}/metrics`);
      await metrics.body?.cancel();
      const page = await chrome.page();
      const problems = watchProblems(page);
      await page.goto(`${server.http}/dashboard`);
      await page.waitForFunction("document.querySelector('#sources').innerText !== ''");
      if (metrics.status === 404) {
        assert.equal(await textOf(page, "#v-running"), "—");
        assert.equal(await textOf(page, "#v-ttfc"), "—");
        assert.match(
          await textOf(page, "#errors"),
          /Needs \/metrics \(not offered by this server\)/,
        );
        assert.match(await textOf(page, "#sources"), /\/metrics: not offered by this server/);
      } else {
        // Once the metrics endpoint exists, the figures come from it.
        assert.equal(metrics.status, 200);
        await page.waitForFunction("document.querySelector('#v-running').innerText !== '—'");
        assert.match(await textOf(page, "#sources"), /Sources: \/metrics/);
      }
      assert.deepEqual(problems, []);
    });
  },
});

Deno.test({
  name: "dashboard: with a server key it asks for the key, then shows the MCP servers",
  ignore: !hasChromium,
  async fn() {
    await withBrowser({ YYCHAT_API_KEY: KEY }, async (server, chrome) => {
      const page = await chrome.page();
      const problems = watchProblems(page);
      await page.goto(`${server.http}/dashboard`);
      await page.waitForSelector("#key-dialog[open]");
      assert.match(await textOf(page, "#banner"), /API key/);
      await page.type("#key-input", KEY);
      await page.keyboard.press("Enter");
      await page.waitForFunction(
        "document.querySelector('#mcp').innerText.includes('No MCP servers configured')",
      );
      await page.waitForFunction("document.querySelector('#banner').hidden");
      assert.deepEqual(problems, []);
    });
  },
});

Deno.test({
  name: "dashboard: a phone-width viewport has no horizontal scroll",
  ignore: !hasChromium,
  async fn() {
    await withBrowser({}, async (server, chrome) => {
      const page = await chrome.page({ width: 390, height: 844 });
      const problems = watchProblems(page);
      await page.goto(`${server.http}/dashboard`);
      await page.waitForFunction("document.querySelector('#sources').innerText !== ''");
      const overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assert.equal(overflow, 0);
      assert.deepEqual(problems, []);
    });
  },
});
