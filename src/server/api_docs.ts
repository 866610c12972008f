/**
 * `GET /docs`: the REST API's OpenAPI document rendered by Swagger UI
 * (npm `swagger-ui-dist`, pinned in deno.json and deno.lock).
 *
 * The viewer's files are text imports of the npm package, so they come
 * through Deno's module graph like any dependency: fetched by `deno install`,
 * checked against deno.lock, served offline, and embedded by `deno compile`
 * (the imports are static strings). Nothing is committed as a copy and
 * nothing comes from a CDN. They are loaded on the first `/docs` request.
 *
 * The page, its start-up script and the viewer come from this origin only:
 * a strict Content-Security-Policy forbids every other source, inline
 * scripts and inline styles (Swagger UI needs none of them).
 */

/** CSP of every `/docs` answer: this origin only; images may also be `data:` URLs (the viewer's icons). */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS = {
  "content-security-policy": DOCS_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Links are relative, so the page also works behind a reverse proxy that mounts yychat under a prefix. */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yychat REST API</title>
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script src="docs/init.js"></script>
</body>
</html>
`;

/** Starts the viewer on `/openapi.json`; no online validator, no stored credentials. */
const INIT = `"use strict";
window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  persistAuthorization: false,
});
`;

interface Asset {
  body: string;
  type: string;
}

let viewer: Promise<Record<string, Asset>> | undefined;

/** The viewer's files, read once from the npm package. */
function viewerAssets(): Promise<Record<string, Asset>> {
  viewer ??= Promise.all([
    import("swagger-ui-dist/swagger-ui.css", { with: { type: "text" } }),
    import("swagger-ui-dist/swagger-ui-bundle.js", { with: { type: "text" } }),
  ]).then(([css, js]) => ({
    "/docs/swagger-ui.css": { body: css.default, type: "text/css; charset=utf-8" },
    "/docs/swagger-ui-bundle.js": { body: js.default, type: "text/javascript; charset=utf-8" },
  }));
  return viewer;
}

/** The `/docs` page or one of its assets; undefined for any other path. */
export async function docsResponse(path: string): Promise<Response | undefined> {
  let asset: Asset | undefined;
  if (path === "/docs") asset = { body: PAGE, type: "text/html; charset=utf-8" };
  else if (path === "/docs/init.js") asset = { body: INIT, type: "text/javascript; charset=utf-8" };
  else asset = (await viewerAssets())[path];
  if (asset === undefined) return undefined;
  return new Response(asset.body, {
    headers: {
      ...SECURITY_HEADERS,
      "content-type": asset.type,
      // The page is tiny and may change with the server; the viewer's files only with an upgrade.
      "cache-control": path === "/docs" ? "no-cache" : "public, max-age=3600",
    },
  });
}
