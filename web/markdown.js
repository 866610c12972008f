/**
 * Markdown → safe DOM, with well-kept libraries: `marked` parses, DOMPurify
 * sanitises and returns a DOM fragment (no `innerHTML` on the page; under
 * the server's Trusted Types policy DOMPurify is the only HTML sink).
 * Links open in a new tab without a referrer; images from other origins are
 * blocked by the Content-Security-Policy anyway.
 * @module
 */
import { Marked } from "./vendor/marked-18.2.1.js";
import DOMPurify from "./vendor/purify-3.5.0.js";

const parser = new Marked({ gfm: true, breaks: true, async: false });

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

const PURIFY = {
  RETURN_DOM_FRAGMENT: true,
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
  FORBID_ATTR: ["style"],
};

/**
 * Renders `text` (markdown) as a sanitised fragment.
 * @param {string} text
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text) {
  const html = /** @type {string} */ (parser.parse(text));
  return DOMPurify.sanitize(html, PURIFY);
}
