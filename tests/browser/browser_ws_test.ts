/**
 * A real browser as the client: headless Chromium loads a page from another
 * origin that opens /ws/chat with the `yychat` + `bearer.<key>` subprotocols
 * (browsers cannot set an Authorization header), then sends `ping` and a
 * streaming `text_message`, and posts what it saw back to the page server.
 * `.ci/run` installs Debian's `chromium`; without it the test is ignored.
 */
import assert from "node:assert/strict";
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium, warnIfNoChromium } from "../helpers/chromium.ts";
import { startTestServer } from "../helpers/test_server.ts";

warnIfNoChromium("browser WebSocket tests");

const KEY = "sk-browser-test-key";

function page(wsUrl: string, protocols: string[]): string {
  return `<!doctype html><meta charset="utf-8"><script>
const seen = [];
const report = (extra) => fetch("/result", {
  method: "POST",
  body: JSON.stringify({ seen, ...extra }),
});
const ws = new WebSocket(${JSON.stringify(wsUrl)}, ${JSON.stringify(protocols)});
ws.onclose = (e) => report({ closed: e.code });
ws.onmessage = (e) => {
  const event = JSON.parse(e.data);
  seen.push(event);
  if (event.type === "connection_established") ws.send(JSON.stringify({ type: "ping" }));
  if (event.type === "pong") {
    ws.send(JSON.stringify({ type: "text_message", content: "what is 6 * 7?", request_id: "b1" }));
  }
  if (event.type === "stream_end" || event.type === "error") report({ protocol: ws.protocol });
};
</script>`;
}

/**
 * Serves pages from their own origin (another port than yychat's) and runs
 * headless Chromium on them; `run(html)` resolves with what the page posted
 * to `/result`.
 */
async function withPages(
  fn: (
    pages: { origin: string; run(html: string): Promise<PageResult> },
  ) => Promise<void>,
): Promise<void> {
  let pageHtml = "";
  let resolveResult: (text: string) => void = () => {};
  const ac = new AbortController();
  const pages = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen() {} },
    async (req) => {
      const path = new URL(req.url).pathname;
      if (path === "/result") {
        resolveResult(await req.text());
        return new Response("ok");
      }
      if (path === "/") return new Response(pageHtml, { headers: { "content-type": "text/html" } });
      return new Response("not found", { status: 404 });
    },
  );
  const origin = `http://127.0.0.1:${pages.addr.port}`;
  try {
    await fn({
      origin,
      async run(html) {
        pageHtml = html;
        const { promise, resolve } = Promise.withResolvers<string>();
        resolveResult = resolve;
        const profile = await Deno.makeTempDir({ prefix: "yychat-chromium-" });
        const browser = new Deno.Command(CHROMIUM, {
          args: [
            ...CHROMIUM_FLAGS,
            `--user-data-dir=${profile}`,
            `${origin}/`,
          ],
          stdout: "null",
          stderr: "null",
          stdin: "null",
        }).spawn();
        const timer = setTimeout(
          () => resolve(JSON.stringify({ seen: [], error: "timed out" })),
          30_000,
        );
        try {
          return JSON.parse(await promise);
        } finally {
          clearTimeout(timer);
          browser.kill("SIGKILL");
          await browser.status;
          await Deno.remove(profile, { recursive: true }).catch(() => {});
        }
      },
    });
  } finally {
    ac.abort();
    await pages.finished;
  }
}

interface PageResult {
  seen: Record<string, unknown>[];
  protocol?: string;
  closed?: number;
  error?: string;
  status?: number | string;
}

Deno.test({
  name: "headless Chromium streams a reply over /ws/chat with subprotocol auth",
  ignore: !hasChromium,
  async fn() {
    await withPages(async (pages) => {
      const server = await startTestServer({
        YYCHAT_API_KEY: KEY,
        YYCHAT_ALLOWED_ORIGINS: pages.origin,
      });
      try {
        const got = await pages.run(page(server.ws, ["yychat", `bearer.${KEY}`]));
        assert.equal(got.error, undefined, JSON.stringify(got));
        assert.equal(got.protocol, "yychat", "the server selected the yychat subprotocol");
        const types = got.seen.map((e) => e.type);
        assert.deepEqual(types.slice(0, 4), [
          "connection_established",
          "pong",
          "processing_start",
          "stream_start",
        ]);
        assert.equal(types.at(-1), "stream_end");
        const end = got.seen.at(-1)!;
        assert.equal(end.request_id, "b1");
        assert.match(String(end.full_content), /42/);
        assert.equal(got.seen[0]!.auth_required, undefined, "authenticated by the subprotocol");
      } finally {
        await server.close();
      }
    });
  },
});

Deno.test({
  name: "headless Chromium with a wrong key is refused before the upgrade",
  ignore: !hasChromium,
  async fn() {
    await withPages(async (pages) => {
      const server = await startTestServer({
        YYCHAT_API_KEY: KEY,
        YYCHAT_ALLOWED_ORIGINS: pages.origin,
      });
      try {
        const got = await pages.run(page(server.ws, ["yychat", "bearer.wrong"]));
        assert.deepEqual(got.seen, []);
        assert.equal(got.closed, 1006, "the browser reports a failed handshake");
        assert.ok(!server.logs.join("\n").includes("wrong"), "the offered token is not logged");
      } finally {
        await server.close();
      }
    });
  },
});

Deno.test({
  name: "a page of another origin cannot drive a server without a key (WebSocket or REST)",
  ignore: !hasChromium,
  async fn() {
    await withPages(async (pages) => {
      const server = await startTestServer();
      try {
        const got = await pages.run(page(server.ws, []));
        assert.deepEqual(got.seen, [], "no event reached the foreign page");
        assert.equal(got.closed, 1006);
        // A cross-site "simple request" (no preflight) that would write into memory.
        const post = await pages.run(`<!doctype html><meta charset="utf-8"><script>
fetch(${JSON.stringify(`${server.http}/v1/chat/completions`)}, {
  method: "POST",
  mode: "no-cors",
  headers: { "content-type": "text/plain" },
  body: JSON.stringify({ conversation_id: "csrf", messages: [{ role: "user", content: "hi" }] }),
}).then((r) => r.type, (e) => String(e)).then((status) =>
  fetch("/result", { method: "POST", body: JSON.stringify({ seen: [], status }) }));
</script>`);
        assert.equal(post.status, "opaque", JSON.stringify(post));
        assert.deepEqual(await server.app.services.memory.list("", "csrf"), []);
        const refusals = server.logs.filter((l) => l.includes('"http_refused"'));
        assert.equal(refusals.length, 2, refusals.join("\n"));
        assert.ok(refusals.every((l) => l.includes('"origin_not_allowed"')));
      } finally {
        await server.close();
      }
    });
  },
});
