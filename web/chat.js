/**
 * The chat page (`GET /`): key entry, personality picker, conversations kept
 * across reloads, streamed replies rendered as sanitised markdown, a stop
 * button, tool calls as they happen, reconnect-and-resume (through
 * `yychat_client.js`), and errors as sentences with their code.
 * @module
 */
import { apiJson, loadKey, saveKey } from "./api.js";
import { ConversationStore } from "./conversations.js";
import { describeError, errorLine } from "./error_text.js";
import { KeyDialog } from "./key_dialog.js";
import { renderMarkdown } from "./markdown.js";
import { setUpTheme } from "./theme.js";
import { YychatClient } from "./yychat_client.js";

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const ui = {
  conn: $("conn"),
  connText: $("conn-text"),
  banner: $("banner"),
  log: $("log"),
  list: /** @type {HTMLUListElement} */ ($("conv-list")),
  newConv: /** @type {HTMLButtonElement} */ ($("new-conv")),
  sidebar: $("sidebar"),
  toggleSidebar: /** @type {HTMLButtonElement} */ ($("toggle-sidebar")),
  composer: /** @type {HTMLFormElement} */ ($("composer")),
  input: /** @type {HTMLTextAreaElement} */ ($("input")),
  personality: /** @type {HTMLSelectElement} */ ($("personality")),
  send: /** @type {HTMLButtonElement} */ ($("send")),
  stop: /** @type {HTMLButtonElement} */ ($("stop")),
  keyButton: /** @type {HTMLButtonElement} */ ($("key-button")),
  announce: $("announce"),
};

const store = new ConversationStore();
let key = loadKey();
/** @type {{id: string, name: string}[]} */
let personalities = [];
/** @type {string | undefined} */
let defaultPersonality;

/** Live replies on this page: request_id → reply. */
/** @type {Map<string, import("./yychat_client.js").Reply>} */
const live = new Map();

const client = newClient();

function newClient() {
  const c = new YychatClient({ key });
  c.addEventListener("state", (e) => showConnection(/** @type {CustomEvent} */ (e).detail));
  c.addEventListener("notice", () => announce("The server is restarting; the page reconnects."));
  c.addEventListener("error", (e) => {
    const err = /** @type {CustomEvent} */ (e).detail;
    showBanner(err.code, err.message);
  });
  return c;
}

// ------------------------------------------------------------ connection

/** @param {{state: string, code?: string, message?: string, retryInMs?: number}} detail */
function showConnection(detail) {
  ui.conn.dataset.state = detail.state;
  switch (detail.state) {
    case "open":
      ui.connText.textContent = "Connected";
      hideBanner("connection");
      break;
    case "connecting":
      ui.connText.textContent = "Connecting…";
      break;
    case "reconnecting": {
      const s = Math.max(1, Math.round((detail.retryInMs ?? 0) / 1000));
      ui.connText.textContent = `Reconnecting in ${s} s…`;
      break;
    }
    case "failed":
      ui.connText.textContent = isAuthCode(detail.code) ? "Key not accepted" : "Disconnected";
      showBanner(detail.code, detail.message, "connection");
      if (isAuthCode(detail.code)) openKeyDialog(describeError(detail.code, detail.message));
      break;
    default:
      ui.connText.textContent = "Disconnected";
  }
}

/** @param {string | undefined} code */
function isAuthCode(code) {
  return code === "invalid_api_key" || code === "auth_failed" || code === "auth_required";
}

// ---------------------------------------------------------------- banner

/**
 * Shows an error as a sentence with its code, small.
 * @param {string | undefined} code
 * @param {string} [message]
 * @param {string} [topic] lets a later success hide it
 */
function showBanner(code, message, topic = "general") {
  ui.banner.replaceChildren(errorLine(code, message));
  ui.banner.dataset.topic = topic;
  ui.banner.hidden = false;
}

/** @param {string} topic */
function hideBanner(topic) {
  if (ui.banner.dataset.topic === topic) ui.banner.hidden = true;
}

/** @param {string} text */
function announce(text) {
  ui.announce.textContent = "";
  // A change the screen reader notices even when the text repeats.
  setTimeout(() => ui.announce.textContent = text, 50);
}

// ------------------------------------------------------------------- key

const keyDialog = new KeyDialog({
  onSave: (newKey) => useKey(newKey),
  onForget: () => {
    useKey(undefined);
    announce("The key was forgotten.");
  },
});

/** @param {string} [error] */
function openKeyDialog(error) {
  keyDialog.open(key, error);
}

/** @param {string | undefined} newKey */
function useKey(newKey) {
  key = newKey || undefined;
  saveKey(key);
  hideBanner("connection");
  hideBanner("key");
  client.setKey(key);
  loadPersonalities();
}

ui.keyButton.addEventListener("click", () => openKeyDialog());

// --------------------------------------------------------- personalities

async function loadPersonalities() {
  try {
    const body = await apiJson("/v1/personalities", { key });
    personalities = Array.isArray(body.data)
      ? body.data.map((/** @type {any} */ p) => ({
        id: String(p.id),
        name: String(p.name ?? p.id),
      }))
      : [];
    defaultPersonality = typeof body.default === "string" ? body.default : personalities[0]?.id;
    hideBanner("key");
    renderPersonalities();
  } catch (err) {
    const e = /** @type {import("./api.js").ApiError} */ (err);
    showBanner(e.code, e.message, e.status === 401 ? "key" : "general");
    if (e.status === 401) openKeyDialog(describeError(e.code, e.message));
  }
}

function renderPersonalities() {
  const conv = store.current;
  const chosen = conv.personality_id ?? defaultPersonality;
  ui.personality.replaceChildren(...personalities.map((p) => {
    const option = document.createElement("option");
    option.value = p.id;
    option.textContent = p.name === p.id ? p.name : `${p.name} (${p.id})`;
    option.selected = p.id === chosen;
    return option;
  }));
}

ui.personality.addEventListener("change", () => {
  const conv = store.current;
  conv.personality_id = ui.personality.value;
  store.save();
});

// --------------------------------------------------------- conversations

function renderConversationList() {
  const current = store.current;
  ui.list.replaceChildren(...store.list.map((conv) => {
    const li = document.createElement("li");
    const open = document.createElement("button");
    open.type = "button";
    open.className = "conv-open";
    open.textContent = conv.title;
    open.title = conv.title;
    if (conv.id === current.id) open.setAttribute("aria-current", "true");
    open.addEventListener("click", () => {
      store.select(conv.id);
      renderAll();
      closeSidebar();
      ui.input.focus();
    });
    const del = document.createElement("button");
    del.type = "button";
    del.className = "conv-delete icon-button";
    del.textContent = "×";
    del.setAttribute("aria-label", `Delete conversation “${conv.title}”`);
    del.addEventListener("click", () => deleteConversation(conv.id));
    li.append(open, del);
    return li;
  }));
}

/** @param {string} id */
async function deleteConversation(id) {
  const conv = store.get(id);
  if (!conv) return;
  for (const m of conv.messages) if (m.request_id) live.get(m.request_id)?.cancel();
  store.remove(id);
  renderAll();
  if (conv.messages.length === 0) return;
  try {
    await apiJson(`/v1/conversations/${encodeURIComponent(id)}/memory`, {
      key,
      method: "DELETE",
    });
    announce("Conversation deleted.");
  } catch (err) {
    const e = /** @type {import("./api.js").ApiError} */ (err);
    showBanner(e.code, `The server kept its memory of that conversation: ${e.message}`);
  }
}

ui.newConv.addEventListener("click", () => {
  store.create(ui.personality.value || defaultPersonality);
  renderAll();
  closeSidebar();
  ui.input.focus();
});

function closeSidebar() {
  ui.sidebar.dataset.open = "false";
  ui.toggleSidebar.setAttribute("aria-expanded", "false");
}

ui.toggleSidebar.addEventListener("click", () => {
  const open = ui.sidebar.dataset.open !== "true";
  ui.sidebar.dataset.open = String(open);
  ui.toggleSidebar.setAttribute("aria-expanded", String(open));
  // After the style change applies: a hidden element cannot take focus.
  if (open) requestAnimationFrame(() => ui.newConv.focus());
});

// -------------------------------------------------------------- messages

/** @type {Map<string, HTMLElement>} request_id → the reply's element */
const replyElements = new Map();

function renderAll() {
  renderConversationList();
  renderPersonalities();
  renderLog();
  updateComposer();
}

function renderLog() {
  replyElements.clear();
  const conv = store.current;
  ui.log.replaceChildren(...conv.messages.map((m) => messageElement(m)));
  if (conv.messages.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "Start the conversation below. Replies stream in as they are written.";
    ui.log.append(empty);
  }
  ui.log.scrollTop = ui.log.scrollHeight;
}

/**
 * @param {import("./conversations.js").ChatMessage} m
 * @returns {HTMLElement}
 */
function messageElement(m) {
  const el = document.createElement("article");
  el.className = `msg ${m.role}`;
  const who = document.createElement("h3");
  who.className = "visually-hidden";
  who.textContent = m.role === "user" ? "You said:" : "yychat replied:";
  el.append(who);
  if (m.role === "user") {
    const body = document.createElement("div");
    body.className = "body plain";
    body.textContent = m.content;
    el.append(body);
    return el;
  }
  if (m.request_id) {
    el.dataset.requestId = m.request_id;
    replyElements.set(m.request_id, el);
  }
  fillReply(el, m);
  return el;
}

/**
 * (Re)draws an assistant message from its stored state.
 * @param {HTMLElement} el
 * @param {import("./conversations.js").ChatMessage} m
 * @param {string} [note] a transient line (reconnecting, resumed…)
 */
function fillReply(el, m, note) {
  const parts = [el.firstElementChild ?? document.createElement("h3")];
  if (m.tools && m.tools.length > 0) {
    const ul = document.createElement("ul");
    ul.className = "tools";
    ul.setAttribute("aria-label", "Tool calls");
    for (const t of m.tools) {
      const li = document.createElement("li");
      li.className = `tool ${t.ok === null ? "pending" : t.ok ? "ok" : "failed"}`;
      const name = document.createElement("code");
      name.textContent = t.name;
      const args = t.arguments === undefined ? "" : JSON.stringify(t.arguments);
      li.append(
        "Tool ",
        name,
        args ? ` ${args.length > 120 ? `${args.slice(0, 119)}…` : args}` : "",
        t.ok === null ? " — running…" : t.ok ? " — done" : " — failed",
      );
      ul.append(li);
    }
    parts.push(ul);
  }
  const body = document.createElement("div");
  body.className = "body markdown";
  body.append(renderMarkdown(m.content));
  parts.push(body);
  const running = m.status === "running" || m.status === "queued";
  el.setAttribute("aria-busy", String(running));
  el.dataset.status = m.status ?? "done";
  if (running && m.content === "" && !note) {
    const typing = document.createElement("p");
    typing.className = "typing";
    typing.textContent = m.status === "queued" ? "Waiting for the connection…" : "Thinking…";
    parts.push(typing);
  }
  if (note) {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = note;
    parts.push(p);
  }
  if (m.status === "cancelled") {
    const p = document.createElement("p");
    p.className = "note";
    p.textContent = "Stopped.";
    parts.push(p);
  }
  if (m.error) {
    const box = errorLine(m.error.code, m.error.message);
    box.classList.add("msg-error");
    parts.push(box);
  }
  el.replaceChildren(...parts);
}

// ----------------------------------------------------------------- replies

/**
 * Follows a reply: copies its state into the stored message and redraws
 * (at most once per animation frame; saved at most once a second).
 * @param {import("./yychat_client.js").Reply} reply
 */
function follow(reply) {
  live.set(reply.request_id, reply);
  let frame = 0;
  let lastSave = 0;
  /** @type {string | undefined} */
  let note;
  const sync = () => {
    frame = 0;
    const found = store.findReply(reply.request_id);
    if (!found) return;
    const { conv, message } = found;
    message.content = reply.text;
    message.tools = reply.tools.map((t) => ({ ...t }));
    message.status = reply.status;
    if (reply.error) message.error = { code: reply.error.code, message: reply.error.message };
    const el = replyElements.get(reply.request_id);
    if (el && conv === store.current) {
      const atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 80;
      fillReply(el, message, note);
      if (atBottom) ui.log.scrollTop = ui.log.scrollHeight;
    }
    const now = Date.now();
    if (reply.ended || now - lastSave > 1000) {
      lastSave = now;
      store.save();
    }
  };
  const schedule = () => {
    if (frame === 0) frame = requestAnimationFrame(sync);
  };
  reply.onUpdate((event) => {
    switch (event.type) {
      case "connection_lost":
        note = "Connection lost — the reply keeps going on the server; reconnecting…";
        break;
      case "resuming":
        note = "Reconnected — catching up…";
        break;
      case "resume_ok":
      case "stream_snapshot":
      case "stream_chunk":
        note = undefined;
        break;
    }
    if (reply.ended) {
      note = undefined;
      cancelAnimationFrame(frame);
      sync();
      live.delete(reply.request_id);
      updateComposer();
      if (reply.status === "unavailable" || reply.status === "interrupted") {
        recoverFromMemory(reply.request_id);
      }
      announce(
        reply.status === "done"
          ? "Reply finished."
          : reply.status === "cancelled"
          ? "Reply stopped."
          : "The reply ended with an error.",
      );
      return;
    }
    schedule();
  });
  updateComposer();
}

/**
 * After a reply that could not be resumed: the server may have finished and
 * stored it; show it from the conversation's memory when it is there.
 * @param {string} requestId
 */
async function recoverFromMemory(requestId) {
  const found = store.findReply(requestId);
  if (!found) return;
  const { conv, message } = found;
  const index = conv.messages.indexOf(message);
  const asked = conv.messages[index - 1];
  if (!asked || asked.role !== "user") return;
  try {
    const body = await apiJson(
      `/v1/conversations/${encodeURIComponent(conv.id)}/memory?limit=8`,
      { key },
    );
    /** @type {{role: string, content: string | null}[]} */
    const entries = Array.isArray(body.data) ? body.data : [];
    const lastUser = entries.findLastIndex((e) => e.role === "user");
    const answer = entries.slice(lastUser + 1).findLast((e) =>
      e.role === "assistant" && typeof e.content === "string" && e.content !== ""
    );
    if (lastUser < 0 || entries[lastUser]?.content !== asked.content || !answer) return;
    message.content = /** @type {string} */ (answer.content);
    message.status = "done";
    message.error = {
      code: message.error?.code ?? "interrupted",
      message: "Recovered from the conversation's memory",
    };
    store.save();
    const el = replyElements.get(requestId);
    if (el && conv === store.current) {
      fillReply(
        el,
        message,
        "The connection was lost, but the server finished this reply: shown from memory.",
      );
    }
  } catch {
    // The note already says what happened.
  }
}

function runningInCurrent() {
  const conv = store.current;
  return conv.messages.filter((m) => m.request_id && live.has(m.request_id));
}

function updateComposer() {
  const running = runningInCurrent().length > 0;
  ui.stop.hidden = !running;
  ui.send.disabled = running;
}

function stopCurrent() {
  const running = runningInCurrent();
  for (const m of running) live.get(/** @type {string} */ (m.request_id))?.cancel();
  if (running.length > 0) announce("Stopping…");
}

function send() {
  const content = ui.input.value;
  if (content.trim() === "" || runningInCurrent().length > 0) return;
  const conv = store.current;
  const personality = ui.personality.value || conv.personality_id || defaultPersonality;
  conv.personality_id = personality;
  store.append(conv, { role: "user", content });
  const reply = client.chat({
    content,
    conversation_id: conv.id,
    personality_id: personality,
    tool_events: true,
  });
  store.append(conv, {
    role: "assistant",
    content: "",
    request_id: reply.request_id,
    status: reply.status,
    tools: [],
  });
  ui.input.value = "";
  renderAll();
  // A reply refused before sending (too long, queue full) has already ended:
  // its first listener gets the backlog, so follow() stores and draws the error.
  follow(reply);
}

ui.composer.addEventListener("submit", (e) => {
  e.preventDefault();
  send();
});
ui.stop.addEventListener("click", () => {
  stopCurrent();
  ui.input.focus();
});
ui.input.addEventListener("keydown", (e) => {
  // Enter sends; Shift+Enter is a new line; never while an IME composes (CJK input).
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    send();
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !keyDialog.isOpen && runningInCurrent().length > 0) {
    e.preventDefault();
    stopCurrent();
  }
});

// ------------------------------------------------------------------ start

setUpTheme(/** @type {HTMLButtonElement} */ ($("theme")));

// Replies that were running when the page went away resume; stored replies
// that cannot be resumed here (another tab, too old) say so.
const restored = new Map(client.restore().map((r) => [r.request_id, r]));
/** @type {string[]} */
const lost = [];
for (const conv of store.list) {
  for (const m of conv.messages) {
    if (m.status !== "running" && m.status !== "queued") continue;
    const reply = restored.get(m.request_id ?? "");
    if (reply) {
      // The client's text is the one that matches its last seq.
      m.content = reply.text;
      m.tools = reply.tools.map((t) => ({ ...t }));
    } else {
      m.status = "interrupted";
      m.error = { code: "interrupted", message: "" };
      if (m.request_id) lost.push(m.request_id);
    }
  }
}
store.save();
renderAll();
for (const reply of restored.values()) follow(reply);
client.connect();
loadPersonalities();
for (const id of lost) recoverFromMemory(id);
ui.input.focus();
