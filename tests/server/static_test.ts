/**
 * The face's static files through a real server: content types, caching
 * (ETag, 304, Cache-Control), HEAD, the security headers, and no way out of
 * `web/` (encoded dots and slashes, backslashes, dotfiles, symlinks).
 */
import assert from "node:assert/strict";
import {
  contentSecurityPolicy,
  createStaticHandler,
  safeRelativePath,
} from "../../src/server/static.ts";
import { WEB_VENDOR } from "../../src/server/web_vendor.ts";
import { startTestServer } from "../helpers/test_server.ts";

Deno.test("GET / and /dashboard serve the pages with a strict CSP and no-cache", async () => {
  const server = await startTestServer();
  try {
    for (const [path, marker] of [["/", "/web/chat.js"], ["/dashboard", "/web/dashboard.js"]]) {
      const res = await fetch(server.http + path);
      const body = await res.text();
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), "text/html; charset=utf-8");
      assert.equal(res.headers.get("cache-control"), "no-cache");
      assert.match(res.headers.get("etag") ?? "", /^"[A-Za-z0-9_-]+"$/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      const csp = res.headers.get("content-security-policy") ?? "";
      const host = new URL(server.http).host;
      for (
        const directive of [
          "default-src 'self'",
          "script-src 'self'",
          `connect-src 'self' ws://${host} wss://${host}`,
          "object-src 'none'",
          "base-uri 'none'",
          "frame-ancestors 'none'",
        ]
      ) assert.ok(csp.includes(directive), `${path}: CSP has ${directive}: ${csp}`);
      assert.ok(!csp.includes("unsafe-inline") && !csp.includes("unsafe-eval"), csp);
      assert.ok(body.includes(`<script type="module" src="${marker}">`), path);
      // No inline script anywhere: every <script> has a src.
      assert.deepEqual([...body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)], [], path);
    }
  } finally {
    await server.close();
  }
});

Deno.test("static files: content types, ETag revalidation (304) and HEAD", async () => {
  const server = await startTestServer();
  try {
    const cases: [string, string][] = [
      ["/web/yychat_client.js", "text/javascript; charset=utf-8"],
      ["/web/style.css", "text/css; charset=utf-8"],
      ["/web/favicon.svg", "image/svg+xml"],
    ];
    for (const [path, type] of cases) {
      const res = await fetch(server.http + path);
      const body = new Uint8Array(await res.arrayBuffer());
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), type, path);
      assert.equal(res.headers.get("content-length"), String(body.byteLength), path);
      const disk = await Deno.readFile(new URL(`../../web/${path.slice(5)}`, import.meta.url));
      assert.deepEqual(body, disk, `${path} is the file in web/`);
      const etag = res.headers.get("etag")!;

      const again = await fetch(server.http + path, { headers: { "if-none-match": etag } });
      assert.equal(again.status, 304, path);
      assert.equal(await again.text(), "");
      assert.equal(again.headers.get("etag"), etag);
      const weakList = await fetch(server.http + path, {
        headers: { "if-none-match": `"other", W/${etag}` },
      });
      assert.equal(weakList.status, 304, "a weak tag in a list matches too");
      await weakList.body?.cancel();
      const stale = await fetch(server.http + path, { headers: { "if-none-match": '"stale"' } });
      assert.equal(stale.status, 200);
      await stale.body?.cancel();

      const head = await fetch(server.http + path, { method: "HEAD" });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get("content-type"), type);
      assert.equal(head.headers.get("etag"), etag);
      assert.equal(await head.text(), "", "HEAD has no body");
    }
  } finally {
    await server.close();
  }
});

Deno.test("vendor files come from the pinned npm packages and are immutable", async () => {
  const server = await startTestServer();
  try {
    assert.ok(WEB_VENDOR.size >= 2);
    for (const [name, file] of WEB_VENDOR) {
      const res = await fetch(`${server.http}/web/vendor/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers.get("content-type"), "text/javascript; charset=utf-8");
      assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
      assert.equal(await res.text(), file.source, name);
    }
    const missing = await fetch(`${server.http}/web/vendor/marked-0.0.1.js`);
    assert.equal(missing.status, 404, "an unpinned version is not served");
    await missing.body?.cancel();
  } finally {
    await server.close();
  }
});

Deno.test("static routes answer only GET and HEAD", async () => {
  const server = await startTestServer();
  try {
    for (const method of ["POST", "PUT", "DELETE"]) {
      const res = await fetch(`${server.http}/web/style.css`, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
      assert.equal((await res.json()).error.type, "invalid_request_error");
    }
  } finally {
    await server.close();
  }
});

Deno.test("no path leads out of web/", async (t) => {
  const server = await startTestServer();
  const port = Number(new URL(server.http).port);
  try {
    // Raw request lines: fetch() would normalise the dots away before sending.
    const attempts = [
      "/web/../deno.json",
      "/web/%2e%2e/deno.json",
      "/web/..%2fdeno.json",
      "/web/..%2Fsrc%2Fserver%2Fstatic.ts",
      "/web/%2e%2e%2fdeno.json",
      "/web/vendor/../../deno.json",
      "/web/..%5cdeno.json",
      "/web/%252e%252e/deno.json",
      "/web//index.html",
      "/web/.hidden",
      "/web/index.html%00.js",
      "/web/%c0%ae%c0%ae/deno.json",
      "/web/",
      "/web/vendor/",
      "/web/nope.js",
      "/web/index.html/",
      "/web/README",
    ];
    for (const path of attempts) {
      await t.step(path, async () => {
        const res = await rawHttp(
          port,
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        );
        assert.match(res.head, /^HTTP\/1\.1 (400|404)/, `${path}: ${res.head.split("\r\n")[0]}`);
        assert.ok(!res.body.includes('"imports"'), `${path} leaked deno.json`);
        assert.ok(!res.body.includes("createStaticHandler"), `${path} leaked source`);
      });
    }
  } finally {
    await server.close();
  }
});

Deno.test("a symlink inside the web root cannot lead out of it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "yychat-web-" });
  const outside = await Deno.makeTempDir({ prefix: "yychat-outside-" });
  try {
    await Deno.writeTextFile(`${outside}/secret.js`, "TOP-SECRET-CONTENT");
    await Deno.writeTextFile(`${dir}/ok.js`, "ok");
    await Deno.symlink(`${outside}/secret.js`, `${dir}/link.js`);
    await Deno.symlink(outside, `${dir}/sub`);
    const handler = createStaticHandler({ root: new URL(`file://${dir}/`) });
    const get = (p: string) => handler(new Request(`http://127.0.0.1${p}`));
    const ok = await get("/web/ok.js");
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "ok");
    for (const p of ["/web/link.js", "/web/sub/secret.js"]) {
      const res = await get(p);
      assert.equal(res.status, 404, p);
      assert.ok(!(await res.text()).includes("TOP-SECRET-CONTENT"), p);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("safeRelativePath() refuses dot segments, dotfiles, separators and control characters", () => {
  assert.equal(safeRelativePath("a/b.js"), "a/b.js");
  assert.equal(safeRelativePath("caf%C3%A9.css"), "café.css");
  for (
    const bad of ["..", "a/../b", "%2e%2e", "a%2fb", "a%5cb", ".env", "a//b", "", "%00", "%E0%A4%A"]
  ) {
    assert.equal(safeRelativePath(bad), undefined, bad);
  }
});

Deno.test("contentSecurityPolicy() names the request's host for WebSockets only when it is a plain host", () => {
  assert.ok(
    contentSecurityPolicy("127.0.0.1:9800").includes(
      "connect-src 'self' ws://127.0.0.1:9800 wss://127.0.0.1:9800;",
    ),
  );
  assert.ok(contentSecurityPolicy("[::1]:9800").includes("ws://[::1]:9800"));
  for (const bad of [null, "evil.com; script-src *", "a b", "x'y"]) {
    assert.ok(contentSecurityPolicy(bad).includes("connect-src 'self';"), String(bad));
  }
});

/** One raw HTTP/1.1 request (the path exactly as written), read to the end (bounded). */
async function rawHttp(port: number, request: string): Promise<{ head: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(request));
    const chunks: Uint8Array[] = [];
    let size = 0;
    const buf = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null || size > 1024 * 1024) break;
      chunks.push(buf.slice(0, n));
      size += n;
    }
    const text = new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c])));
    const [head = "", body = ""] = text.split("\r\n\r\n", 2);
    return { head, body };
  } finally {
    conn.close();
  }
}
