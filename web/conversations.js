/**
 * The chat page's conversations, kept in this browser (`localStorage`)
 * across reloads. Each has a `conversation_id` the server keys its memory
 * by. Bounded: the newest {@link MAX_CONVERSATIONS} conversations of at most
 * {@link MAX_MESSAGES} messages each; when storage is full the oldest
 * conversations go first.
 * @module
 */
import { randomId } from "./yychat_client.js";

const STORAGE_KEY = "yychat.conversations.v1";
export const MAX_CONVERSATIONS = 50;
export const MAX_MESSAGES = 200;

/**
 * @typedef {object} ChatMessage
 * @property {"user" | "assistant"} role
 * @property {string} content
 * @property {string} [request_id]
 * @property {string} [status] the reply's status (`running`, `done`, `cancelled`, `error`, …)
 * @property {{name: string, arguments: unknown, ok: boolean | null}[]} [tools]
 * @property {{code: string, message: string}} [error]
 */

/**
 * @typedef {object} Conversation
 * @property {string} id the `conversation_id`
 * @property {string} title
 * @property {string} [personality_id]
 * @property {number} updated epoch ms
 * @property {ChatMessage[]} messages
 */

export class ConversationStore {
  /** @type {Conversation[]} newest first */
  #list = [];
  /** @type {string | null} */
  #currentId = null;
  /** @type {Storage | null} */
  #storage;

  /** @param {Storage | null} [storage] */
  constructor(storage = safeLocalStorage()) {
    this.#storage = storage;
    this.#load();
  }

  /** Conversations, newest first. @returns {readonly Conversation[]} */
  get list() {
    return this.#list;
  }

  /** The open conversation (one is created when there is none). @returns {Conversation} */
  get current() {
    let conv = this.#list.find((c) => c.id === this.#currentId);
    if (!conv) conv = this.#list[0] ?? this.create();
    this.#currentId = conv.id;
    return conv;
  }

  /** @param {string} id */
  get(id) {
    return this.#list.find((c) => c.id === id);
  }

  /** @param {string} id */
  select(id) {
    if (this.get(id)) this.#currentId = id;
    this.save();
  }

  /**
   * Starts a new conversation and makes it current.
   * @param {string} [personalityId]
   * @returns {Conversation}
   */
  create(personalityId) {
    /** @type {Conversation} */
    const conv = {
      id: randomId("c_"),
      title: "New conversation",
      personality_id: personalityId,
      updated: Date.now(),
      messages: [],
    };
    this.#list.unshift(conv);
    this.#list.length = Math.min(this.#list.length, MAX_CONVERSATIONS);
    this.#currentId = conv.id;
    this.save();
    return conv;
  }

  /** @param {string} id */
  remove(id) {
    this.#list = this.#list.filter((c) => c.id !== id);
    if (this.#currentId === id) this.#currentId = this.#list[0]?.id ?? null;
    this.save();
  }

  /**
   * Appends a message; the first user message names the conversation.
   * @param {Conversation} conv
   * @param {ChatMessage} message
   * @returns {ChatMessage}
   */
  append(conv, message) {
    conv.messages.push(message);
    if (conv.messages.length > MAX_MESSAGES) {
      conv.messages.splice(0, conv.messages.length - MAX_MESSAGES);
    }
    if (message.role === "user" && conv.title === "New conversation") {
      const line = message.content.trim().split("\n")[0] ?? "";
      conv.title = line.length > 60 ? `${line.slice(0, 59)}…` : line || "New conversation";
    }
    this.touch(conv);
    return message;
  }

  /**
   * Marks `conv` as changed now (moves it to the top) and saves.
   * @param {Conversation} conv
   */
  touch(conv) {
    conv.updated = Date.now();
    this.#list = [conv, ...this.#list.filter((c) => c !== conv)];
    this.save();
  }

  /**
   * The message of reply `requestId`, wherever it is.
   * @param {string} requestId
   * @returns {{conv: Conversation, message: ChatMessage} | undefined}
   */
  findReply(requestId) {
    for (const conv of this.#list) {
      const message = conv.messages.find((m) => m.request_id === requestId);
      if (message) return { conv, message };
    }
    return undefined;
  }

  /** Writes everything; drops the oldest conversations while storage is full. */
  save() {
    if (this.#storage === null) return;
    for (;;) {
      try {
        this.#storage.setItem(
          STORAGE_KEY,
          JSON.stringify({ current: this.#currentId, list: this.#list }),
        );
        return;
      } catch {
        if (this.#list.length <= 1) return;
        this.#list.pop();
      }
    }
  }

  #load() {
    if (this.#storage === null) return;
    try {
      const data = JSON.parse(this.#storage.getItem(STORAGE_KEY) ?? "null");
      if (!data || !Array.isArray(data.list)) return;
      this.#list = data.list.filter(isConversation).slice(0, MAX_CONVERSATIONS);
      this.#currentId = typeof data.current === "string" ? data.current : null;
    } catch {
      // unreadable: start afresh
    }
  }
}

/** @param {any} c */
function isConversation(c) {
  return c && typeof c.id === "string" && typeof c.title === "string" &&
    Array.isArray(c.messages) && typeof c.updated === "number";
}

function safeLocalStorage() {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}
