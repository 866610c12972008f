/**
 * The face's static files: `GET /` (the chat page, `web/index.html`),
 * `GET /dashboard` (`web/dashboard.html`), `GET /web/<file>` (the pages'
 * modules, styles and icons) and `GET /web/vendor/<file>` (the browser
 * libraries, from their npm packages: see `web_vendor.ts`).
 *
 * The pages are public (they hold no data; what they fetch is behind the key
 * when one is set). Every answer carries a strict Content-Security-Policy
 * (nothing from other origins, no inline script, Trusted Types for the one
 * HTML sink), `nosniff` and `no-referrer`. HTML and the pages' modules are
 * `no-cache` (revalidated with a strong `ETag`); vendor files have the
 * version in their URL and are immutable.
 *
 * `web/` is found relative to this module, not the working directory, so the
 * server started from anywhere (or compiled with `--include web`) finds it.
 * Only regular files under it with a known extension are served; a path
 * segment that is empty, `.`/`..`, a dotfile, or holds a slash, backslash or
 * control character after decoding is refused, and the resolved real path
 * must stay inside `web/` (symlinks cannot lead out).
 */
import { errorResponse } from "./responses.ts";
import { WEB_VENDOR } from "./web_vendor.ts";

/** Where `web/` is by default: beside `src/`, relative to this module. */
const WEB_ROOT = new URL("../../web/", import.meta.url);

/** Largest file served from `web/` (the pages are small; this bounds memory). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** Longest request path considered. */
const MAX_PATH_LENGTH = 512;

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json; charset=utf-8",
  txt: "text/plain; charset=utf-8",
  webmanifest: "application/manifest+json",
};

const PAGES: Record<string, string> = { "/": "index.html", "/dashboard": "dashboard.html" };

/** Whether `path` is one of the routes this module answers. */
export function isStaticPath(path: string): boolean {
  return Object.hasOwn(PAGES, path) || path.startsWith("/web/");
}

/** A `Host` value safe to repeat inside a header (name or IP, optional port). */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The Content-Security-Policy of every static answer: everything from this
 * origin only. `connect-src` names the WebSocket URLs of the request's own
 * host explicitly (older browsers do not let `'self'` cover `ws:`).
 */
export function contentSecurityPolicy(host: string | null): string {
  const ws = host !== null && SAFE_HOST.test(host) ? ` ws://${host} wss://${host}` : "";
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    // The pages write HTML only through DOMPurify (its policy is "dompurify").
    "require-trusted-types-for 'script'",
    "trusted-types dompurify",
  ].join("; ");
}

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  etag: string;
  contentType: string;
  cacheControl: string;
}

interface CachedFile extends Asset {
  mtimeMs: number | null;
  size: number;
}

export interface StaticOptions {
  /** The folder of the pages (default: `web/` beside `src/`). */
  root?: URL;
}

/** Builds the handler of {@linkcode isStaticPath} routes. */
export function createStaticHandler(
  options: StaticOptions = {},
): (req: Request) => Promise<Response> {
  const root = options.root ?? WEB_ROOT;
  const rootPath = decodeURIComponent(root.pathname).replace(/\/?$/, "/");
  const cache = new Map<string, CachedFile>();
  const vendor = new Map<string, Promise<Asset>>();
  let realRoot: Promise<string> | undefined;

  const vendorAsset = (name: string): Promise<Asset> | undefined => {
    const file = WEB_VENDOR.get(name);
    if (file === undefined) return undefined;
    let asset = vendor.get(name);
    if (asset === undefined) {
      const body = new TextEncoder().encode(file.source);
      asset = etagOf(body).then((etag) => ({
        body,
        etag,
        contentType: CONTENT_TYPES.js!,
        cacheControl: "public, max-age=31536000, immutable",
      }));
      vendor.set(name, asset);
    }
    return asset;
  };

  const fileAsset = async (rel: string): Promise<Asset | undefined> => {
    const type = CONTENT_TYPES[rel.slice(rel.lastIndexOf(".") + 1).toLowerCase()];
    if (type === undefined || !rel.includes(".")) return undefined;
    let real: string;
    try {
      realRoot ??= Deno.realPath(rootPath).then((p) => p.replace(/\/?$/, "/"));
      const base = await realRoot;
      real = await Deno.realPath(rootPath + rel);
      if (!real.startsWith(base)) return undefined;
    } catch {
      return undefined;
    }
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(real);
    } catch {
      return undefined;
    }
    if (!info.isFile || info.size > MAX_FILE_BYTES) return undefined;
    const mtimeMs = info.mtime?.getTime() ?? null;
    const hit = cache.get(rel);
    if (hit && hit.mtimeMs === mtimeMs && hit.size === info.size && mtimeMs !== null) return hit;
    const body = await Deno.readFile(real);
    if (body.byteLength > MAX_FILE_BYTES) return undefined;
    const entry: CachedFile = {
      body,
      etag: await etagOf(body),
      contentType: type,
      cacheControl: "no-cache",
      mtimeMs,
      size: info.size,
    };
    // Bounded by the number of files under web/ (only existing files get here).
    cache.set(rel, entry);
    return entry;
  };

  return async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      return errorResponse(405, `Method ${req.method} not allowed on ${path}`, {
        headers: { allow: "GET, HEAD" },
      });
    }
    let asset: Asset | undefined;
    if (Object.hasOwn(PAGES, path)) {
      asset = await fileAsset(PAGES[path]!);
    } else if (path.startsWith("/web/vendor/")) {
      asset = await vendorAsset(path.slice("/web/vendor/".length));
    } else if (path.startsWith("/web/") && path.length <= MAX_PATH_LENGTH) {
      const rel = safeRelativePath(path.slice("/web/".length));
      if (rel !== undefined) asset = await fileAsset(rel);
    }
    if (asset === undefined) {
      return errorResponse(404, `Unknown route: ${req.method} ${path}`, { code: "not_found" });
    }
    return answer(req, asset);
  };
}

/**
 * `a/b.js` from the part of a URL path after `/web/`, each segment decoded
 * and checked; `undefined` when any segment could name something outside
 * the folder or a hidden file.
 */
export function safeRelativePath(encoded: string): string | undefined {
  const segments = encoded.split("/");
  const out: string[] = [];
  for (const raw of segments) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    // deno-lint-ignore no-control-regex
    if (seg === "" || seg.startsWith(".") || /[/\\\u0000-\u001f\u007f]/.test(seg)) return undefined;
    out.push(seg);
  }
  return out.join("/");
}

function answer(req: Request, asset: Asset): Response {
  const headers = new Headers({
    "content-type": asset.contentType,
    "cache-control": asset.cacheControl,
    "etag": asset.etag,
    "content-security-policy": contentSecurityPolicy(req.headers.get("host")),
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
  });
  if (etagMatches(req.headers.get("if-none-match"), asset.etag)) {
    headers.delete("content-type");
    return new Response(null, { status: 304, headers });
  }
  headers.set("content-length", String(asset.body.byteLength));
  return new Response(req.method === "HEAD" ? null : asset.body, { status: 200, headers });
}

/** `If-None-Match` (a list, weak or strong, or `*`) against a strong ETag. */
function etagMatches(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((t) => {
    const tag = t.trim();
    return tag === "*" || tag.replace(/^W\//, "") === etag;
  });
}

async function etagOf(body: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const b64 = btoa(String.fromCharCode(...digest.subarray(0, 18)))
    .replaceAll("+", "-").replaceAll("/", "_");
  return `"${b64}"`;
}
