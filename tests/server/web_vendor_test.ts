/**
 * The browser libraries stay what `deno.json` pins: the versions in the
 * vendor URLs equal the pins, the served text is the package's own ESM build
 * (read here from the installed package file), and the pages import exactly
 * the URLs the server serves.
 */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { VENDOR_VERSIONS, WEB_VENDOR } from "../../src/server/web_vendor.ts";

const root = new URL("../../", import.meta.url);

Deno.test("VENDOR_VERSIONS equal the exact pins in deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root)));
  for (const [name, version] of Object.entries(VENDOR_VERSIONS)) {
    assert.equal(config.imports[name], `npm:${name}@${version}`, `deno.json pins ${name} exactly`);
  }
});

Deno.test("each vendor file is byte for byte the pinned package's ESM build", async () => {
  // Importing the package resolves it; createRequire then names its files.
  await import("marked");
  await import("dompurify");
  const require = createRequire(import.meta.url);
  const files: Record<string, string> = {
    marked: require.resolve("marked").replace(/[^/]+$/, "marked.esm.js"),
    dompurify: require.resolve("dompurify").replace(/[^/]+$/, "purify.es.mjs"),
  };
  for (const [name, file] of WEB_VENDOR) {
    const path = files[file.packageName]!;
    assert.ok(
      path.includes(`/${file.packageName}/${VENDOR_VERSIONS[file.packageName]}/`),
      `${name} resolves to the pinned version: ${path}`,
    );
    assert.equal(file.source, await Deno.readTextFile(path), name);
    assert.match(file.source, /\bexport\s*\{/, `${name} is an ES module`);
  }
});

Deno.test("web/ imports exactly the vendor URLs the server serves", async () => {
  const served = new Set(WEB_VENDOR.keys());
  const imported = new Set<string>();
  for await (const entry of Deno.readDir(new URL("web/", root))) {
    if (!entry.name.endsWith(".js")) continue;
    const text = await Deno.readTextFile(new URL(`web/${entry.name}`, root));
    for (const [, file] of text.matchAll(/from\s+"\.\/vendor\/([^"]+)"/g)) imported.add(file!);
  }
  assert.deepEqual([...imported].sort(), [...served].sort());
});
