/**
 * The browser libraries of the pages in `web/`, read from their pinned npm
 * packages (`deno.json` imports) as text when the server starts: no copy is
 * committed, so what the browser gets is always the pinned package's own ESM
 * build, and `deno compile` embeds it like any other module.
 *
 * The version is part of each URL (`/web/vendor/marked-18.2.1.js`), so the
 * files can be cached as immutable; `tests/server/web_vendor_test.ts` checks
 * the versions here against the pins in `deno.json` and the imports in `web/`.
 */
import markedSource from "marked" with { type: "text" };
import purifySource from "dompurify" with { type: "text" };

/** Pinned versions; they must equal the `deno.json` pins (a test checks). */
export const VENDOR_VERSIONS = { marked: "18.2.1", dompurify: "3.5.0" } as const;

/** One library file served under `/web/vendor/`. */
export interface VendorFile {
  /** npm package it comes from. */
  packageName: keyof typeof VENDOR_VERSIONS;
  /** The module source, exactly as the package ships it. */
  source: string;
}

/** File name under `/web/vendor/` → the package file served there. */
export const WEB_VENDOR: ReadonlyMap<string, VendorFile> = new Map([
  [`marked-${VENDOR_VERSIONS.marked}.js`, { packageName: "marked", source: markedSource }],
  [`purify-${VENDOR_VERSIONS.dompurify}.js`, {
    packageName: "dompurify",
    source: purifySource,
  }],
]);
