/**
 * A reusable client for yychat's WebSocket protocol (`/ws/chat`), for any
 * page (or Deno script). No dependencies. See `docs/WEB.md` for a guide.
 *
 * What it does for you:
 * - connects with the key in the subprotocol (`["yychat", "bearer." + key]`),
 *   or with a first `auth` frame when the key holds characters a subprotocol
 *   cannot carry;
 * - sends `heartbeat`s and drops a connection that stops answering;
 * - reconnects with exponential backoff and jitter, following the close-code
 *   table: 4000–4499 (and the 1xxx codes) reconnect, 4500–4999 are terminal,
 *   and 1008/4500/4501 or an upgrade refused with HTTP 401 are reported as
 *   auth failures (a browser cannot read the HTTP status of a refused
 *   upgrade, so the client asks `GET /v1/models` with the same key once);
 * - runs each `text_message` as a {@link Reply}: an async-iterable stream of
 *   its events (or `onUpdate` callbacks) plus the text and tool calls so far;
 * - resumes running replies after a reconnect or a page reload (SPEC §9):
 *   `{request_id, resume_token, last_seq}` of every running reply is kept in
 *   `sessionStorage`; after reconnecting it sends `resume`, ignores replayed
 *   events it has already seen (by `seq`), replaces the text on a
 *   `stream_snapshot`, and ends the reply as `unavailable` on a
 *   `resume_unavailable` error.
 *
 * @example
 * import { YychatClient } from "/web/yychat_client.js";
 * const client = new YychatClient({ key: "sk-…" });
 * client.addEventListener("state", (e) => console.log(e.detail.state));
 * client.connect();
 * const reply = client.chat({ content: "Hello", conversation_id: "c1" });
 * for await (const event of reply) console.log(event.type, reply.text);
 * // reply.cancel() stops it; reply.status says how it ended
 *
 * @module
 */

/** Characters a WebSocket subprotocol may hold (an RFC 9110 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Reply statuses after which nothing more happens. */
const TERMINAL = new Set(["done", "cancelled", "error", "interrupted", "unavailable"]);

/** Internal hooks of {@link Reply}, called by the client only. */
const APPLY = Symbol("apply");
const EMIT = Symbol("emit");
const FINISH = Symbol("finish");

/**
 * Default options of {@link YychatClient}.
 * @type {Readonly<{heartbeatIntervalMs: number, heartbeatTimeoutMs: number,
 *   initialDelayMs: number, maxDelayMs: number, maxMessageBytes: number,
 *   maxQueued: number, storageKey: string, maxResumeAgeMs: number,
 *   maxStoredTextChars: number}>}
 */
export const CLIENT_DEFAULTS = Object.freeze({
  /** How often a `heartbeat` is sent (the server's timeout is 300 s). */
  heartbeatIntervalMs: 25_000,
  /** A heartbeat unanswered (no frame at all) this long means the connection is dead. */
  heartbeatTimeoutMs: 10_000,
  /** First reconnect delay; doubled on each failure up to `maxDelayMs`, with jitter. */
  initialDelayMs: 500,
  maxDelayMs: 15_000,
  /** Messages over this many UTF-8 bytes are refused before sending (server default: 1 MiB). */
  maxMessageBytes: 1024 * 1024,
  /** Messages waiting for a connection, at most. */
  maxQueued: 32,
  /** Where running replies are remembered. */
  storageKey: "yychat.replies.v1",
  /** Remembered replies older than this are not resumed after a reload. */
  maxResumeAgeMs: 15 * 60_000,
  /** Longer texts are not stored; a resume then starts from `last_seq` 0. */
  maxStoredTextChars: 256 * 1024,
});

/**
 * What a close code means for a client.
 * @param {number} code the WebSocket close code
 * @returns {"reconnect" | "terminal" | "auth"} `auth` for an authentication
 *   failure (1008, 4500, 4501), `terminal` for the rest of 4500–4999,
 *   `reconnect` otherwise (4000–4499 and the standard codes)
 */
export function closeAction(code) {
  if (code === 1008 || code === 4500 || code === 4501) return "auth";
  if (code >= 4500 && code <= 4999) return "terminal";
  return "reconnect";
}

/**
 * The delay before reconnect attempt `attempt` (0 for the first): exponential
 * with "equal jitter" (between half and all of the exponential value).
 * @param {number} attempt
 * @param {{initialDelayMs?: number, maxDelayMs?: number}} [options]
 * @param {() => number} [random] a number in [0, 1)
 * @returns {number} milliseconds
 */
export function backoffDelay(attempt, options = {}, random = Math.random) {
  const initial = options.initialDelayMs ?? CLIENT_DEFAULTS.initialDelayMs;
  const max = options.maxDelayMs ?? CLIENT_DEFAULTS.maxDelayMs;
  const exp = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/**
 * A random id with `prefix` (128 bits, hex). Works outside secure contexts,
 * where `crypto.randomUUID` is missing.
 * @param {string} prefix
 * @returns {string}
 */
export function randomId(prefix = "") {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return prefix + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The same-origin `/ws/chat` URL of the current page (`ws:` or `wss:`).
 * @returns {string}
 */
export function defaultChatUrl() {
  const loc = globalThis.location;
  if (!loc) throw new TypeError("No page location: pass the `url` option");
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/ws/chat`;
}

/**
 * One `text_message` and everything the server says about it.
 *
 * Iterate it (`for await (const event of reply)`) to get each event once, in
 * order, de-duplicated across resumes; or `onUpdate(fn)`. After each event,
 * {@link Reply#text} and {@link Reply#tools} hold the state so far. Besides
 * the server's events (`processing_start`, `stream_start`, `stream_chunk`,
 * `tool_call`, `tool_result`, `resume_ok`, `stream_snapshot`, `stream_end`,
 * `text_response`, `error`, …) a reply yields three client events:
 * `{type: "connection_lost"}`, `{type: "resuming"}` and
 * `{type: "interrupted"}` (lost before the server gave a resume token).
 */
export class Reply {
  /** @type {string} */ request_id;
  /** @type {string | undefined} */ conversation_id;
  /** Anything the page wants back after a reload (JSON; stored with the reply). */
  meta;
  /** The reply's text so far (the whole text once done). */
  text = "";
  /** @type {{name: string, arguments: unknown, ok: boolean | null}[]} tool calls so far */
  tools = [];
  /**
   * `queued` (waiting for a connection), `running`, or how it ended: `done`,
   * `cancelled`, `error`, `interrupted` (connection lost and not resumable),
   * `unavailable` (the server could no longer resume it).
   * @type {string}
   */
  status = "queued";
  /** @type {string | null} `stop`, `length`, `cancelled`, … once done */
  finishReason = null;
  /** @type {{code: string, message: string, type?: string} | null} */
  error = null;
  /** @type {string | null} */
  resumeToken = null;
  /** The highest `seq` applied. */
  lastSeq = 0;
  /** Whether the reply is attached to the live connection. */
  attached = false;
  /** Whether it was resumed at least once, and whether the last resume replayed every event. */
  resumed = false;
  /** @type {boolean | null} */
  recovered = null;
  /** Events ignored because their `seq` had been seen (replays). */
  duplicates = 0;
  cancelRequested = false;
  /** @type {Promise<Reply>} resolves once the reply has ended */
  finished;

  /** @type {YychatClient} */
  #client;
  /** @type {Set<(event: object) => void>} */
  #listeners = new Set();
  /** Events kept until the first listener comes (bounded). */
  /** @type {object[] | null} */
  #backlog = [];
  /** @type {(r: Reply) => void} */
  #resolve = () => {};

  /**
   * @param {YychatClient} client
   * @param {{request_id: string, conversation_id?: string, meta?: unknown}} init
   */
  constructor(client, init) {
    this.#client = client;
    this.request_id = init.request_id;
    this.conversation_id = init.conversation_id;
    this.meta = init.meta;
    this.finished = new Promise((resolve) => this.#resolve = resolve);
  }

  /** Whether the reply has ended. */
  get ended() {
    return TERMINAL.has(this.status);
  }

  /** Asks the server to stop this reply (works while disconnected too: sent on resume). */
  cancel() {
    return this.#client.cancel(this.request_id);
  }

  /**
   * Calls `fn(event, reply)` after every event. Returns a function that removes it.
   * @param {(event: object, reply: Reply) => void} fn
   * @returns {() => void}
   */
  onUpdate(fn) {
    const listener = (event) => fn(event, this);
    this.#listen(listener);
    return () => this.#listeners.delete(listener);
  }

  /** @returns {AsyncIterableIterator<object>} */
  [Symbol.asyncIterator]() {
    /** @type {object[]} */
    const queue = [];
    /** @type {(() => void) | null} */
    let wake = null;
    const listener = (event) => {
      queue.push(event);
      wake?.();
    };
    this.#listen(listener);
    const stop = () => {
      this.#listeners.delete(listener);
      return Promise.resolve({ value: undefined, done: true });
    };
    return {
      next: async () => {
        while (queue.length === 0) {
          if (this.ended) return stop();
          await new Promise((resolve) => wake = resolve);
          wake = null;
        }
        return { value: queue.shift(), done: false };
      },
      return: stop,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  #listen(listener) {
    this.#listeners.add(listener);
    const backlog = this.#backlog;
    this.#backlog = null;
    for (const event of backlog ?? []) listener(event);
  }

  /** @param {object} event */
  [EMIT](event) {
    if (this.#backlog && this.#backlog.length < 1000) this.#backlog.push(event);
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (err) {
        console.error("yychat: a reply listener failed", err);
      }
    }
  }

  /**
   * Ends the reply (once) and tells its listeners.
   * @param {string} status
   * @param {object} event the event that ended it
   */
  [FINISH](status, event) {
    if (this.ended) return;
    this.status = status;
    this.attached = false;
    this[EMIT](event);
    this.#resolve(this);
  }

  /**
   * Applies one server event addressed to this reply.
   * @param {Record<string, any>} ev
   * @param {{resuming: boolean}} context
   * @returns {boolean} false when the event was a duplicate (ignored)
   */
  [APPLY](ev, context) {
    if (this.ended) return false;
    if (typeof ev.seq === "number") {
      if (ev.seq <= this.lastSeq) {
        this.duplicates++;
        return false;
      }
      this.lastSeq = ev.seq;
    }
    switch (ev.type) {
      case "processing_start":
        if (typeof ev.resume_token === "string") this.resumeToken = ev.resume_token;
        this.status = "running";
        this.attached = true;
        break;
      case "stream_chunk":
        this.text += typeof ev.content === "string" ? ev.content : "";
        break;
      case "stream_snapshot":
        this.text = typeof ev.content === "string" ? ev.content : "";
        break;
      case "tool_call":
        this.tools.push({ name: String(ev.name), arguments: ev.arguments, ok: null });
        break;
      case "tool_result": {
        const call = this.tools.findLast((t) => t.name === ev.name && t.ok === null);
        if (call) call.ok = ev.ok === true;
        else this.tools.push({ name: String(ev.name), arguments: undefined, ok: ev.ok === true });
        break;
      }
      case "resume_ok":
        this.resumed = true;
        this.recovered = ev.recovered === true;
        this.attached = true;
        this.status = "running";
        break;
      case "stream_end":
      case "text_response": {
        const full = ev.type === "stream_end" ? ev.full_content : ev.content;
        if (typeof full === "string") this.text = full;
        this.finishReason = typeof ev.finish_reason === "string" ? ev.finish_reason : "stop";
        this[FINISH](this.finishReason === "cancelled" ? "cancelled" : "done", ev);
        return true;
      }
      case "error": {
        const code = String(ev.error?.code ?? "internal_error");
        // A cancel that crossed the reply's end: the end is what counts.
        if (code === "unknown_request") return true;
        this.error = {
          code,
          message: String(ev.error?.message ?? ""),
          type: ev.error?.type,
        };
        const unavailable = code === "resume_unavailable" ||
          (context.resuming && code === "unknown_message_type");
        this[FINISH](unavailable ? "unavailable" : "error", ev);
        return true;
      }
      default:
        break;
    }
    this[EMIT](ev);
    return true;
  }
}

/**
 * A connection to yychat that stays up: see the module documentation.
 *
 * Events (`addEventListener`): `state` (`detail: {state, code?, message?,
 * retryInMs?}`), `event` (every server event, `detail` = the event), `error`
 * (an `error` event not tied to a reply, `detail` = its `error` object),
 * `notice` (`server_shutdown`, `detail` = the event).
 *
 * States: `idle`, `connecting`, `open`, `reconnecting`, `closed` (by
 * {@link YychatClient#close}), `failed` (terminal: `detail.code` is
 * `invalid_api_key`, `auth_required`, `auth_failed`, `origin_not_allowed`,
 * `host_not_allowed`, or `close_<code>`).
 */
export class YychatClient extends EventTarget {
  #url;
  /** @type {string | undefined} */
  #key;
  #opts;
  /** @type {Storage | null} */
  #storage;
  /** @type {typeof WebSocket} */
  #WebSocket;
  /** @type {typeof fetch} */
  #fetch;
  /** @type {string | null} */
  #authProbeUrl;

  /** @type {WebSocket | null} */
  #ws = null;
  #state = "idle";
  #ready = false;
  #opened = false;
  #attempt = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer;
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #heartbeatTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #persistTimer;
  #lastFrameAt = 0;
  #heartbeatSentAt = 0;
  /** @type {Map<string, Reply>} running and queued replies */
  #replies = new Map();
  /** @type {{reply: Reply, message: object}[]} */
  #outbox = [];
  /** @type {Set<string>} replies whose `resume` is answered by nothing yet */
  #resuming = new Set();
  /** @type {string | null} */
  #clientId = null;
  #onOnline = () => {
    if (this.#state === "reconnecting") {
      clearTimeout(this.#retryTimer);
      this.#open();
    }
  };
  #onPageHide = () => this.#persist();

  /**
   * @param {object} [options]
   * @param {string} [options.url] `ws(s)://host/ws/chat` (default: this page's origin)
   * @param {string} [options.key] the API key, when the server has one
   * @param {Storage | null} [options.storage] where running replies are kept
   *   (default `sessionStorage`; `null` keeps them in memory only)
   * @param {string | null} [options.authProbeUrl] asked with the key when an
   *   upgrade is refused, to tell a wrong key from a server that is down
   *   (default: `/v1/models` on the same host; `null` to skip)
   * @param {number} [options.heartbeatIntervalMs]
   * @param {number} [options.heartbeatTimeoutMs]
   * @param {number} [options.initialDelayMs]
   * @param {number} [options.maxDelayMs]
   * @param {number} [options.maxMessageBytes]
   * @param {number} [options.maxQueued]
   * @param {string} [options.storageKey]
   * @param {number} [options.maxResumeAgeMs]
   * @param {number} [options.maxStoredTextChars]
   * @param {typeof WebSocket} [options.WebSocket] (tests)
   * @param {typeof fetch} [options.fetch] (tests)
   */
  constructor(options = {}) {
    super();
    this.#url = options.url ?? defaultChatUrl();
    this.#key = options.key || undefined;
    this.#opts = { ...CLIENT_DEFAULTS, ...stripUndefined(options) };
    this.#storage = options.storage !== undefined ? options.storage : sessionStorageOrNull();
    this.#WebSocket = options.WebSocket ?? globalThis.WebSocket;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#authProbeUrl = options.authProbeUrl !== undefined
      ? options.authProbeUrl
      : probeUrlFor(this.#url);
  }

  /** The connection state (see the class documentation). */
  get state() {
    return this.#state;
  }

  /** The server's id for the current connection (`null` before it is open). */
  get clientId() {
    return this.#clientId;
  }

  /** Replies that have not ended yet. @returns {Reply[]} */
  get replies() {
    return [...this.#replies.values()];
  }

  /** Starts connecting (and keeps the connection up until {@link close}). */
  connect() {
    if (this.#state === "connecting" || this.#state === "open") return;
    clearTimeout(this.#retryTimer);
    globalThis.addEventListener?.("online", this.#onOnline);
    globalThis.addEventListener?.("pagehide", this.#onPageHide);
    this.#open();
  }

  /**
   * Closes the connection and stops reconnecting. Running replies stay
   * remembered (a later page can resume them) unless `forget` is set.
   * @param {{forget?: boolean}} [options]
   */
  close(options = {}) {
    globalThis.removeEventListener?.("online", this.#onOnline);
    globalThis.removeEventListener?.("pagehide", this.#onPageHide);
    this.#stop("client closed");
    for (const reply of this.#replies.values()) reply.attached = false;
    if (options.forget) {
      for (const reply of this.#replies.values()) {
        reply[FINISH]("interrupted", { type: "interrupted", request_id: reply.request_id });
      }
      this.#replies.clear();
      this.#outbox = [];
    }
    this.#persist();
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    this.#setState("closed");
  }

  /**
   * Uses another key from now on: forgets replies of the old one and
   * reconnects when a connection was wanted.
   * @param {string | undefined} key
   */
  setKey(key) {
    const wanted = this.#state !== "idle" && this.#state !== "closed";
    this.close({ forget: true });
    this.#key = key || undefined;
    if (wanted) this.connect();
  }

  /**
   * Sends a `text_message` (queued until the connection is open) and returns
   * its {@link Reply}. `on_disconnect` is always `"continue"`: a lost
   * connection never stops the reply; {@link Reply#cancel} does.
   * @param {object} params
   * @param {string} params.content
   * @param {string} [params.conversation_id]
   * @param {string} [params.personality_id]
   * @param {boolean} [params.use_tools]
   * @param {boolean} [params.stream] default true
   * @param {boolean} [params.tool_events] default true
   * @param {string} [params.request_id] default: a random id
   * @param {unknown} [params.meta] kept with the reply (and across reloads)
   * @returns {Reply}
   */
  chat(params) {
    const request_id = params.request_id ?? randomId("r_");
    const message = stripUndefined({
      type: "text_message",
      request_id,
      content: params.content,
      conversation_id: params.conversation_id,
      personality_id: params.personality_id,
      use_tools: params.use_tools,
      stream: params.stream ?? true,
      tool_events: params.tool_events ?? true,
      on_disconnect: "continue",
    });
    const reply = new Reply(this, {
      request_id,
      conversation_id: params.conversation_id,
      meta: params.meta,
    });
    const bytes = new TextEncoder().encode(JSON.stringify(message)).byteLength;
    if (bytes > this.#opts.maxMessageBytes) {
      return failed(reply, "message_too_large", `The message is too long (${bytes} bytes)`);
    }
    if (this.#replies.has(request_id)) {
      return failed(reply, "duplicate_request_id", `A reply "${request_id}" is running`);
    }
    if (!this.#ready && this.#outbox.length >= this.#opts.maxQueued) {
      return failed(reply, "client_queue_full", "Too many messages are waiting for a connection");
    }
    this.#replies.set(request_id, reply);
    if (this.#ready) this.#sendMessage(reply, message);
    else this.#outbox.push({ reply, message });
    return reply;
  }

  /**
   * Stops a reply: sent at once when connected, after the resume otherwise;
   * a reply still waiting for a connection is dropped here.
   * @param {string} requestId
   * @returns {boolean} whether such a reply was running
   */
  cancel(requestId) {
    const reply = this.#replies.get(requestId);
    if (!reply) return false;
    reply.cancelRequested = true;
    const queued = this.#outbox.findIndex((q) => q.reply === reply);
    if (queued >= 0) {
      this.#outbox.splice(queued, 1);
      reply.finishReason = "cancelled";
      this.#end(reply, "cancelled", { type: "stream_end", request_id: requestId });
      return true;
    }
    if (this.#ready && reply.attached) {
      this.#send({ type: "cancel", request_id: requestId });
    }
    return true;
  }

  /**
   * Sends any message (`ping`, `get_status`, …) on the open connection.
   * @param {object} message
   * @returns {boolean} false when not connected
   */
  send(message) {
    return this.#ready ? this.#send(message) : false;
  }

  /**
   * Brings back the running replies remembered by an earlier page (after a
   * reload): each is resumed once the connection is open. Call it before or
   * after {@link connect}.
   * @returns {Reply[]}
   */
  restore() {
    const restored = [];
    const now = Date.now();
    for (const entry of this.#readStorage()) {
      if (this.#replies.has(entry.request_id)) continue;
      if (!(now - entry.updated <= this.#opts.maxResumeAgeMs)) continue;
      const reply = new Reply(this, entry);
      reply.status = "running";
      reply.resumeToken = entry.resume_token;
      reply.lastSeq = entry.last_seq;
      reply.text = entry.text;
      reply.tools = entry.tools;
      this.#replies.set(reply.request_id, reply);
      restored.push(reply);
      if (this.#ready) this.#resume(reply);
    }
    this.#persist();
    return restored;
  }

  // ------------------------------------------------------------ connection

  #open() {
    this.#setState("connecting");
    this.#opened = false;
    this.#ready = false;
    const key = this.#key;
    const protocols = key !== undefined && TOKEN.test(key)
      ? ["yychat", `bearer.${key}`]
      : ["yychat"];
    let ws;
    try {
      ws = new this.#WebSocket(this.#url, protocols);
    } catch (err) {
      this.#fail("invalid_url", `Cannot open ${this.#url}: ${err}`);
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (ws === this.#ws) this.#opened = true;
    };
    ws.onmessage = (e) => this.#onFrame(ws, e.data);
    ws.onclose = (e) => this.#onClose(ws, e.code, e.reason);
    ws.onerror = () => {};
  }

  #onReady() {
    this.#ready = true;
    this.#attempt = 0;
    this.#lastFrameAt = Date.now();
    this.#heartbeatSentAt = 0;
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = setInterval(() => this.#heartbeat(), this.#opts.heartbeatIntervalMs);
    this.#setState("open");
    for (const reply of this.#replies.values()) {
      if (reply.status === "running" && !reply.attached && reply.resumeToken) this.#resume(reply);
    }
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const { reply, message } of outbox) this.#sendMessage(reply, message);
  }

  #heartbeat() {
    if (!this.#ready || !this.#ws) return;
    const now = Date.now();
    // Dead when the last heartbeat got no frame back in time (robust against
    // timers throttled in background tabs: only an unanswered one counts).
    if (
      this.#heartbeatSentAt > this.#lastFrameAt &&
      now - this.#heartbeatSentAt > this.#opts.heartbeatTimeoutMs
    ) {
      const ws = this.#ws;
      this.#onClose(ws, 4000, "heartbeat timeout");
      detach(ws);
      ws.close(4000, "heartbeat timeout");
      return;
    }
    this.#heartbeatSentAt = now;
    this.#send({ type: "heartbeat" });
  }

  /**
   * @param {WebSocket} ws
   * @param {unknown} data
   */
  #onFrame(ws, data) {
    if (ws !== this.#ws || typeof data !== "string") return;
    this.#lastFrameAt = Date.now();
    let ev;
    try {
      ev = JSON.parse(data);
    } catch {
      return;
    }
    if (ev === null || typeof ev !== "object") return;
    this.dispatchEvent(new CustomEvent("event", { detail: ev }));
    switch (ev.type) {
      case "connection_established":
        this.#clientId = typeof ev.client_id === "string" ? ev.client_id : null;
        if (ev.auth_required !== true) this.#onReady();
        else if (this.#key !== undefined) this.#send({ type: "auth", token: this.#key });
        else this.#fail("auth_required", "This server needs an API key");
        return;
      case "auth_ok":
        this.#onReady();
        return;
      case "server_shutdown":
        this.dispatchEvent(new CustomEvent("notice", { detail: ev }));
        return;
    }
    const reply = typeof ev.request_id === "string" ? this.#replies.get(ev.request_id) : undefined;
    if (reply) {
      const resuming = this.#resuming.has(reply.request_id);
      if (ev.type === "resume_ok" || ev.type === "error") this.#resuming.delete(reply.request_id);
      reply[APPLY](ev, { resuming });
      if (reply.ended) this.#end(reply);
      else this.#persistSoon();
      if (ev.type === "resume_ok" && reply.cancelRequested) {
        this.#send({ type: "cancel", request_id: reply.request_id });
      }
      return;
    }
    if (ev.type === "error") {
      this.dispatchEvent(new CustomEvent("error", { detail: ev.error ?? {} }));
    }
  }

  /**
   * @param {WebSocket} ws
   * @param {number} code
   * @param {string} reason
   */
  #onClose(ws, code, reason) {
    if (ws !== this.#ws) return;
    const opened = this.#opened;
    this.#ws = null;
    this.#ready = false;
    this.#resuming.clear();
    clearInterval(this.#heartbeatTimer);
    for (const reply of [...this.#replies.values()]) {
      if (reply.status !== "running") continue;
      if (reply.resumeToken) {
        if (reply.attached) {
          reply.attached = false;
          reply[EMIT]({ type: "connection_lost", request_id: reply.request_id });
        }
      } else {
        this.#end(reply, "interrupted", { type: "interrupted", request_id: reply.request_id });
      }
    }
    this.#persist();
    if (!opened) {
      // The upgrade was refused or the server is unreachable; the browser
      // does not say which, so ask once over HTTP with the same key.
      this.#setState("connecting", { code: "connect_failed" });
      this.#probe().then((verdict) => {
        if (this.#state !== "connecting" || this.#ws !== null) return;
        if (verdict.action === "reconnect") this.#scheduleReconnect(verdict.code, verdict.message);
        else this.#fail(verdict.code, verdict.message);
      }, () => this.#scheduleReconnect("unreachable"));
      return;
    }
    const action = closeAction(code);
    if (action === "reconnect") {
      this.#scheduleReconnect(`close_${code}`, reason);
    } else if (action === "auth") {
      this.#fail(code === 4501 ? "auth_required" : "auth_failed", reason || `Closed (${code})`);
    } else {
      this.#fail(`close_${code}`, reason || `Closed (${code})`);
    }
  }

  /** @returns {Promise<{action: "reconnect" | "fail", code: string, message?: string}>} */
  async #probe() {
    if (this.#authProbeUrl === null) return { action: "reconnect", code: "unreachable" };
    let res;
    try {
      res = await this.#fetch(this.#authProbeUrl, {
        headers: this.#key !== undefined ? { authorization: `Bearer ${this.#key}` } : {},
        cache: "no-store",
        signal: AbortSignal.timeout(5000),
      });
    } catch {
      return { action: "reconnect", code: "unreachable" };
    }
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: only the status counts
    }
    const code = typeof body?.error?.code === "string" ? body.error.code : undefined;
    const message = typeof body?.error?.message === "string" ? body.error.message : undefined;
    if (res.status === 401) return { action: "fail", code: code ?? "invalid_api_key", message };
    if (res.status === 403) return { action: "fail", code: code ?? "forbidden", message };
    return {
      action: "reconnect",
      code: code ?? (res.ok ? "connect_failed" : `http_${res.status}`),
    };
  }

  /**
   * @param {string} code
   * @param {string} [message]
   */
  #scheduleReconnect(code, message) {
    const delay = backoffDelay(this.#attempt++, this.#opts);
    this.#setState("reconnecting", { code, message, retryInMs: delay });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  /**
   * A terminal failure: no reconnect until {@link connect} or {@link setKey}.
   * @param {string} code
   * @param {string} [message]
   */
  #fail(code, message) {
    this.#stop("client gave up");
    // Messages that never left cannot be sent with these credentials.
    for (const { reply } of this.#outbox) this.#end(failed(reply, code, message ?? ""));
    this.#outbox = [];
    this.#setState("failed", { code, message });
  }

  /**
   * Stops the timers and closes the socket without hearing from it again.
   * @param {string} reason
   */
  #stop(reason) {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#heartbeatTimer);
    const ws = this.#ws;
    this.#ws = null;
    this.#ready = false;
    if (ws) {
      detach(ws);
      ws.close(1000, reason);
    }
  }

  /**
   * @param {string} state
   * @param {{code?: string, message?: string, retryInMs?: number}} [extra]
   */
  #setState(state, extra = {}) {
    this.#state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, ...extra } }));
  }

  // ---------------------------------------------------------------- replies

  /**
   * @param {Reply} reply
   * @param {object} message
   */
  #sendMessage(reply, message) {
    if (!this.#send(message)) {
      this.#end(reply, "interrupted", { type: "interrupted", request_id: reply.request_id });
      return;
    }
    reply.status = "running";
    reply.attached = true;
  }

  /** @param {Reply} reply */
  #resume(reply) {
    this.#resuming.add(reply.request_id);
    this.#send({
      type: "resume",
      request_id: reply.request_id,
      resume_token: reply.resumeToken,
      last_seq: reply.lastSeq,
    });
    reply[EMIT]({ type: "resuming", request_id: reply.request_id, last_seq: reply.lastSeq });
  }

  /**
   * Forgets an ended reply (ending it first when `status` is given).
   * @param {Reply} reply
   * @param {string} [status]
   * @param {object} [event]
   */
  #end(reply, status, event) {
    if (status !== undefined && event !== undefined) reply[FINISH](status, event);
    this.#replies.delete(reply.request_id);
    this.#resuming.delete(reply.request_id);
    this.#persist();
  }

  /** @param {object} message */
  #send(message) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) return false;
    try {
      ws.send(JSON.stringify(message));
      return true;
    } catch {
      return false;
    }
  }

  // ---------------------------------------------------------------- storage

  #persistSoon() {
    if (this.#persistTimer !== undefined || this.#storage === null) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      this.#persist();
    }, 250);
  }

  /** Writes every resumable reply (token, last seq and the text at that seq, together). */
  #persist() {
    if (this.#storage === null) return;
    const entries = [];
    for (const r of this.#replies.values()) {
      if (r.status !== "running" || !r.resumeToken) continue;
      const fits = r.text.length <= this.#opts.maxStoredTextChars;
      entries.push({
        request_id: r.request_id,
        resume_token: r.resumeToken,
        last_seq: fits ? r.lastSeq : 0,
        text: fits ? r.text : "",
        tools: fits ? r.tools : [],
        conversation_id: r.conversation_id,
        meta: r.meta,
        updated: Date.now(),
      });
    }
    try {
      if (entries.length === 0) this.#storage.removeItem(this.#opts.storageKey);
      else this.#storage.setItem(this.#opts.storageKey, JSON.stringify(entries));
    } catch {
      // Storage full or disabled: resuming after a reload is lost, nothing else.
    }
  }

  /** @returns {{request_id: string, resume_token: string, last_seq: number, text: string, tools: any[], conversation_id?: string, meta?: unknown, updated: number}[]} */
  #readStorage() {
    if (this.#storage === null) return [];
    let parsed;
    try {
      parsed = JSON.parse(this.#storage.getItem(this.#opts.storageKey) ?? "[]");
    } catch {
      return [];
    }
    if (!Array.isArray(parsed)) return [];
    return parsed.filter((e) =>
      e && typeof e.request_id === "string" && typeof e.resume_token === "string" &&
      Number.isInteger(e.last_seq) && e.last_seq >= 0 && typeof e.text === "string" &&
      Array.isArray(e.tools) && typeof e.updated === "number"
    );
  }
}

/**
 * @param {Reply} reply
 * @param {string} code
 * @param {string} message
 */
function failed(reply, code, message) {
  reply.error = { code, message };
  reply[FINISH]("error", { type: "error", request_id: reply.request_id, error: reply.error });
  return reply;
}

/** @param {WebSocket} ws */
function detach(ws) {
  ws.onopen =
    ws.onmessage =
    ws.onclose =
    ws.onerror =
      null;
}

/** @param {string} wsUrl */
function probeUrlFor(wsUrl) {
  try {
    const url = new URL(wsUrl);
    url.protocol = url.protocol === "wss:" ? "https:" : "http:";
    url.pathname = "/v1/models";
    url.search = "";
    return url.href;
  } catch {
    return null;
  }
}

function sessionStorageOrNull() {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // storage disabled by the browser
  }
}

/**
 * @template {Record<string, unknown>} T
 * @param {T} obj
 * @returns {T}
 */
function stripUndefined(obj) {
  return /** @type {T} */ (Object.fromEntries(
    Object.entries(obj).filter(([, v]) => v !== undefined),
  ));
}
