/**
 * Headless Chromium (Debian's `chromium`) driven by `puppeteer-core`, for
 * the browser tests and `deno task screenshots`. Each launch gets a fresh
 * profile directory, removed again by `close()`.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";

export const CHROMIUM = "/usr/bin/chromium";

/** Headless, quiet and offline: no sandbox (root in CI), no GPU, no background traffic. */
export const CHROMIUM_FLAGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Whether Chromium is installed (tests that need it are ignored loudly otherwise). */
export const hasChromium: boolean = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Says, once per test module, that browser tests are skipped and why. */
export function warnIfNoChromium(what: string): void {
  if (!hasChromium) {
    console.warn(
      `${what}: IGNORED — ${CHROMIUM} is missing. Install it with \`apt-get install chromium\` ` +
        "(.ci/run does).",
    );
  }
}

export interface Chromium {
  browser: Browser;
  /** A new tab with the given viewport (default 1280×800). */
  page(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Launches headless Chromium with a fresh profile. */
export async function launchChromium(): Promise<Chromium> {
  const profile = await Deno.makeTempDir({ prefix: "yychat-chromium-" });
  let browser: Browser;
  try {
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      timeout: 20_000,
      protocolTimeout: 20_000,
      args: [...CHROMIUM_FLAGS, "--disable-dev-shm-usage", "--hide-scrollbars"],
    });
  } catch (err) {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw err;
  }
  return {
    browser,
    async page(viewport = { width: 1280, height: 800 }) {
      const page = await browser.newPage();
      await page.setViewport(viewport);
      page.setDefaultTimeout(10_000);
      return page;
    },
    async close() {
      await browser.close().catch(() => {});
      await Deno.remove(profile, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * Records what a page should never do: uncaught errors, and console errors
 * other than failed loads (a CSP refusal shows up here: "Refused to …").
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err}`));
  page.on("console", (msg) => {
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) {
      const from = msg.stackTrace()[0]?.url ?? "";
      problems.push(`console: ${msg.text()}${from ? ` (from ${new URL(from).pathname})` : ""}`);
    }
  });
  return problems;
}

/** The text of the first element matching `selector` ("" when none). */
export function textOf(page: Page, selector: string): Promise<string> {
  return page.evaluate(
    `document.querySelector(${JSON.stringify(selector)})?.innerText ?? ""`,
  ) as Promise<string>;
}
