/**
 * `GET /docs`: the viewer page and every asset it links are served from this
 * origin under a strict CSP, and headless Chromium (Debian's `chromium`)
 * renders the REST API from `/openapi.json` without a single CSP violation.
 */
import assert from "node:assert/strict";
import { DOCS_CSP } from "../../src/server/api_docs.ts";
import { CHROMIUM, CHROMIUM_FLAGS, hasChromium, warnIfNoChromium } from "../helpers/chromium.ts";
import { startTestServer } from "../helpers/test_server.ts";

warnIfNoChromium("the /docs rendering test");

Deno.test("GET /docs serves the viewer, and every asset it links answers 200 under the CSP", async () => {
  const server = await startTestServer({ LOG_LEVEL: "silent", YYCHAT_API_KEY: "sk-docs-test-1" });
  try {
    const pageUrl = `${server.http}/docs`;
    const page = await fetch(pageUrl);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("content-security-policy"), DOCS_CSP);
    assert.doesNotMatch(
      DOCS_CSP,
      /unsafe|\*|https?:/,
      "nothing from other origins, nothing inline",
    );
    const html = await page.text();
    const links = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    assert.deepEqual(links, ["docs/swagger-ui.css", "docs/swagger-ui-bundle.js", "docs/init.js"]);
    assert.doesNotMatch(html, /<script>|<style|style="/, "no inline script or style");
    for (const link of links) {
      const url = new URL(link, pageUrl);
      assert.equal(url.origin, server.http, `${link} is same-origin`);
      const res = await fetch(url);
      const body = await res.text();
      assert.equal(res.status, 200, link);
      assert.equal(res.headers.get("content-security-policy"), DOCS_CSP);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      const type = link.endsWith(".css") ? "text/css" : "text/javascript";
      assert.equal(res.headers.get("content-type"), `${type}; charset=utf-8`, link);
      assert.ok(body.length > 0, link);
      if (link.endsWith("init.js")) {
        const spec = body.match(/url: "([^"]+)"/)![1]!;
        const doc = await fetch(new URL(spec, pageUrl));
        assert.equal(doc.status, 200, "the spec URL the viewer loads");
        assert.equal((await doc.json()).openapi, "3.1.0");
      }
    }
    assert.match(
      await (await fetch(`${server.http}/docs/swagger-ui-bundle.js`)).text(),
      /SwaggerUIBundle/,
      "the real viewer from npm",
    );
    const unknown = await fetch(`${server.http}/docs/nope.js`);
    assert.equal(unknown.status, 404);
    await unknown.body?.cancel();
    const other = await fetch(`${server.http}/docs/swagger-ui-bundle.js.map`);
    assert.equal(other.status, 404, "only the files the page needs are served");
    await other.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test({
  name: "Chromium renders /docs from /openapi.json without any CSP violation",
  ignore: !hasChromium,
  fn: async () => {
    const server = await startTestServer({ LOG_LEVEL: "silent" });
    const profile = await Deno.makeTempDir({ prefix: "yychat-docs-chromium-" });
    try {
      // The deep link opens one operation, so its request schema is rendered too.
      const child = new Deno.Command(CHROMIUM, {
        args: [
          ...CHROMIUM_FLAGS,
          "--enable-logging=stderr",
          "--v=0",
          "--virtual-time-budget=10000",
          `--user-data-dir=${profile}`,
          "--dump-dom",
          `${server.http}/docs#/Chat/createChatCompletion`,
        ],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const { stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
      const dom = new TextDecoder().decode(stdout);
      const log = new TextDecoder().decode(stderr);
      const violations = log.split("\n").filter((l) => /Content Security Policy/i.test(l));
      assert.deepEqual(violations, [], "no CSP violation");
      assert.match(dom, /yychat REST API/);
      for (const summary of ["Create a chat completion", "Read a conversation's memory"]) {
        assert.ok(dom.includes(summary.replace("'", "&#39;")) || dom.includes(summary), summary);
      }
      assert.match(dom, /conversation_id/, "the opened operation shows its request schema");
    } finally {
      await server.close();
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    }
  },
});
