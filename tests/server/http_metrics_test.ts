import assert from "node:assert/strict";
import { ERROR_CODES } from "../../src/core/errors.ts";
import { httpRouteOf, routeLabel } from "../../src/server/http_metrics.ts";
import { HTTP_ERROR_CODES } from "../../src/server/rest/errors.ts";
import { restRouteOf } from "../../src/server/rest/mod.ts";

Deno.test("routeLabel() drops URLPattern regular expressions, keeping the parameter names", () => {
  assert.equal(routeLabel("/v1/models/:id(.+)"), "/v1/models/:id");
  assert.equal(routeLabel("/v1/conversations/:id/memory"), "/v1/conversations/:id/memory");
  assert.equal(routeLabel("/a/:x([a-z]+)/b/:y((?:x|y)+)"), "/a/:x/b/:y");
});

Deno.test("httpRouteOf() and restRouteOf() answer patterns or `other`, never a raw path", () => {
  assert.equal(httpRouteOf("/health"), "/health");
  assert.equal(httpRouteOf("/docs/swagger-ui.css"), "/docs/:asset");
  assert.equal(httpRouteOf("/web/vendor/marked-1.0.0.js"), "/web/:file");
  assert.equal(httpRouteOf("/"), "/");
  assert.equal(httpRouteOf("/wp-login.php"), "other");
  assert.equal(httpRouteOf("/health/"), "other");
  assert.equal(restRouteOf("/v1/models/org/model-7b"), "/v1/models/:id");
  assert.equal(restRouteOf("/v1/conversations/c-42/memory"), "/v1/conversations/:id/memory");
  assert.equal(restRouteOf("/v1/conversations/c-42/other"), "other");
  assert.equal(restRouteOf("/v1/chat/completions"), "/v1/chat/completions");
});

/** Source files of the server (src/, handlers/). */
async function sources(): Promise<{ file: string; text: string }[]> {
  const root = new URL("../../", import.meta.url);
  const out: { file: string; text: string }[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(new URL(rel, root))) {
      const path = `${rel}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (e.name.endsWith(".ts")) {
        out.push({ file: path, text: await Deno.readTextFile(new URL(path, root)) });
      }
    }
  };
  await walk("src/");
  await walk("handlers/");
  return out;
}

Deno.test("every error code the server sends is a label value of yychat_errors_total", async () => {
  const known = new Set<string>([...Object.keys(ERROR_CODES), ...HTTP_ERROR_CODES]);
  const unknown: string[] = [];
  for (const { file, text } of await sources()) {
    // `code: "x"` and `code: cond ? "x" : "y"` (error bodies), `ChatError("x", …)`.
    const snippets = [
      ...[...text.matchAll(/\bcode:\s*([^,}\n]+)/g)].map((m) => m[1]!),
      ...[...text.matchAll(/ChatError\(\s*("[a-z_]+")/g)].map((m) => m[1]!),
    ];
    for (const snippet of snippets) {
      for (const [, code] of snippet.matchAll(/"([a-z][a-z_]*)"(?!\s*\?)/g)) {
        if (code === "custom") continue; // zod issue code
        if (!known.has(code!)) unknown.push(`${file}: ${code}`);
      }
    }
  }
  assert.deepEqual(
    unknown,
    [],
    "Add new HTTP-only codes to HTTP_ERROR_CODES in src/server/rest/errors.ts " +
      "(shared codes belong in src/core/errors.ts), or they are counted as `other`",
  );
});

Deno.test("every HTTP-only error code is documented in docs/REST.md or docs/PROTOCOL.md", async () => {
  const read = (p: string) => Deno.readTextFile(new URL(`../../${p}`, import.meta.url));
  const docs = (await read("docs/REST.md")) + (await read("docs/PROTOCOL.md"));
  const missing = HTTP_ERROR_CODES.filter((code) => !docs.includes(`\`${code}\``));
  assert.deepEqual(missing, []);
});
