/**
 * The API-key dialog both pages share: a modal `<dialog>` built with DOM
 * calls (no markup to copy between pages), with Save, Forget key and Cancel.
 * The key itself is remembered by `api.js`.
 * @module
 */

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(string | Node)[]} [children]
 */
function h(tag, attrs = {}, children = []) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...children);
  return el;
}

export class KeyDialog {
  #dialog;
  #input;
  #hint;
  #error;
  #forget;

  /**
   * @param {object} handlers
   * @param {(key: string) => void} handlers.onSave
   * @param {() => void} handlers.onForget
   */
  constructor({ onSave, onForget }) {
    this.#input = /** @type {HTMLInputElement} */ (h("input", {
      id: "key-input",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
    }));
    this.#hint = h("p", { id: "key-hint" });
    this.#error = h("p", { id: "key-error", class: "error-line", role: "alert" });
    this.#error.hidden = true;
    const save = h("button", { id: "key-save", type: "submit", class: "primary" }, ["Save"]);
    this.#forget = /** @type {HTMLButtonElement} */ (
      h("button", { id: "key-forget", type: "button" }, ["Forget key"])
    );
    const cancel = h("button", { id: "key-cancel", type: "button" }, ["Cancel"]);
    const form = h("form", { id: "key-form", method: "dialog" }, [
      h("h2", { id: "key-title" }, ["API key"]),
      this.#hint,
      h("label", { for: "key-input" }, ["Key"]),
      this.#input,
      this.#error,
      h("div", { class: "dialog-actions" }, [save, this.#forget, cancel]),
    ]);
    this.#dialog = /** @type {HTMLDialogElement} */ (
      h("dialog", { id: "key-dialog", "aria-labelledby": "key-title" }, [form])
    );
    document.body.append(this.#dialog);
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.#dialog.close();
      onSave(this.#input.value.trim());
    });
    this.#forget.addEventListener("click", () => {
      this.#dialog.close();
      onForget();
    });
    cancel.addEventListener("click", () => this.#dialog.close());
  }

  /** Whether the dialog is showing. */
  get isOpen() {
    return this.#dialog.open;
  }

  /**
   * Shows the dialog, with `error` (a sentence) when the last key failed.
   * @param {string | undefined} currentKey
   * @param {string} [error]
   */
  open(currentKey, error) {
    this.#input.value = currentKey ?? "";
    this.#hint.textContent = currentKey
      ? "A key is remembered in this browser. Enter another, or forget it."
      : "Enter the server's API key (YYCHAT_API_KEY). It is remembered in this browser.";
    this.#error.hidden = !error;
    this.#error.textContent = error ?? "";
    this.#forget.disabled = !currentKey;
    if (!this.#dialog.open) this.#dialog.showModal();
    this.#input.focus();
  }
}
