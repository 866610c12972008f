/**
 * Context assembly, shared by every store: which stored messages go into the
 * next request, within a token budget, never splitting a tool call from its
 * results. A store supplies rows through a {@linkcode RowSource}; the choice
 * is made here, once, so SQLite and PostgreSQL answer alike (apart from
 * their ranking functions). The mapping between a message and its stored
 * columns, both ways, lives here too.
 */
import type { ChatMessage, ChatRole, ToolCall } from "../core/chat.ts";
import type { MemoryEntry } from "./store.ts";
import { recallTerms } from "./recall_terms.ts";
import { estimateMessageTokens } from "./tokens.ts";

/** Most recent full-text matches ranked per recall (bounds its cost in long conversations). */
export const RECALL_CANDIDATES = 400;
/** Most ranked hits expanded into context per recall. */
export const DEFAULT_MAX_RECALL_HITS = 16;

/** One stored message as a store reads it. */
export interface StoredRow {
  id: number;
  turn_id: string;
  seq: number;
  role: string;
  /**
   * Null when the message has none — or when the store left a message out
   * that cannot fit the budget anyway (`tokens` above it): its text is
   * never needed, so it is never read.
   */
  content: string | null;
  /** JSON array of {@linkcode ToolCall}; left out like `content`. */
  tool_calls: string | null;
  tool_call_id: string | null;
  name: string | null;
  created_at: number;
  /** Estimated tokens of the whole message, stored when it was written. */
  tokens: number;
}

/** A recall hit, best first. */
export interface RecallHit {
  id: number;
  turn_id: string;
}

/** Where the rows come from; `budget` lets a store leave out text that cannot fit. */
export interface RowSource {
  /** The newest `limit` rows of the conversation, in id order. */
  recent(limit: number, budget: number): StoredRow[] | Promise<StoredRow[]>;
  /** Every row of these turns, in id order. */
  turns(turnIds: string[], budget: number): StoredRow[] | Promise<StoredRow[]>;
  /**
   * Full-text matches of `terms` (see `recallTerms`) among rows with an id
   * below `beforeId`, best first, at most `limit`.
   */
  recall(terms: string[][], beforeId: number, limit: number): RecallHit[] | Promise<RecallHit[]>;
}

export interface AssembleOptions {
  query: string;
  tokenBudget: number;
  maxRecentMessages: number;
  maxRecallHits: number;
}

/**
 * Recent whole turns (newest first until `maxRecentMessages` or the budget
 * is reached), then older turns recalled by full-text search against
 * `query` while budget remains; returned oldest first. Units that are never
 * split: a whole turn, or when a turn does not fit, an assistant tool-call
 * message with all its tool results.
 */
export async function assembleContext(
  source: RowSource,
  options: AssembleOptions,
): Promise<ChatMessage[]> {
  const fullBudget = Math.max(0, Math.trunc(options.tokenBudget));
  let budget = fullBudget;
  const maxRecent = Math.max(0, Math.trunc(options.maxRecentMessages));
  const chosen: StoredRow[] = [];
  const chosenIds = new Set<number>();
  const take = (unit: StoredRow[]) => {
    for (const r of unit) {
      chosen.push(r);
      chosenIds.add(r.id);
    }
    budget -= cost(unit);
  };

  // Recent window: whole turns, newest first.
  let oldestRecentId = Number.MAX_SAFE_INTEGER;
  if (maxRecent > 0 && fullBudget > 0) {
    const turns = groupTurns(await source.recent(maxRecent, fullBudget));
    let count = 0;
    for (let i = turns.length - 1; i >= 0; i--) {
      const complete = turns[i]![0]!.seq === 0;
      const turn = toUnits(turns[i]!).flat();
      if (
        !complete || turn.length === 0 || count + turn.length > maxRecent || cost(turn) > budget
      ) break;
      take(turn);
      count += turn.length;
      oldestRecentId = turn[0]!.id;
    }
    if (chosen.length === 0 && turns.length > 0) {
      // The newest turn alone is too big: keep its newest units that fit.
      const newest = turns[turns.length - 1]!;
      const units = toUnits(await source.turns([newest[0]!.turn_id], fullBudget));
      for (let i = units.length - 1; i >= 0; i--) {
        const unit = units[i]!;
        if (count + unit.length > maxRecent || cost(unit) > budget) break;
        take(unit);
        count += unit.length;
        oldestRecentId = unit[0]!.id;
      }
      // Older parts of that turn may still be recalled below.
      if (chosen.length === 0) oldestRecentId = Number.MAX_SAFE_INTEGER;
    }
  }

  // Recall: older messages ranked by the store, expanded to their turn or unit.
  const terms = budget > 0 ? recallTerms(options.query) : [];
  if (terms.length > 0) {
    const hits = await source.recall(terms, oldestRecentId, options.maxRecallHits);
    const wanted = [...new Set(hits.filter((h) => !chosenIds.has(h.id)).map((h) => h.turn_id))];
    const byTurn = new Map<string, StoredRow[]>();
    if (wanted.length > 0) {
      for (const r of await source.turns(wanted, fullBudget)) {
        if (r.id >= oldestRecentId) continue;
        const list = byTurn.get(r.turn_id);
        if (list) list.push(r);
        else byTurn.set(r.turn_id, [r]);
      }
    }
    for (const hit of hits) {
      if (budget <= 0) break;
      if (chosenIds.has(hit.id)) continue;
      const fresh = (byTurn.get(hit.turn_id) ?? []).filter((r) => !chosenIds.has(r.id));
      const wholeUnits = toUnits(fresh);
      const whole = wholeUnits.flat();
      if (whole.length > 0 && cost(whole) <= budget) {
        take(whole);
        continue;
      }
      const unit = wholeUnits.find((u) => u.some((r) => r.id === hit.id));
      if (unit && cost(unit) <= budget) take(unit);
    }
  }

  chosen.sort((a, b) => a.id - b.id);
  return chosen.map(toMessage);
}

function cost(rows: StoredRow[]): number {
  let n = 0;
  for (const r of rows) n += r.tokens;
  return n;
}

/** Consecutive rows sharing a turn id (rows are in id order). */
function groupTurns(rows: StoredRow[]): StoredRow[][] {
  const turns: StoredRow[][] = [];
  for (const r of rows) {
    const last = turns[turns.length - 1];
    if (last && last[0]!.turn_id === r.turn_id) last.push(r);
    else turns.push([r]);
  }
  return turns;
}

/**
 * Splits rows into units that must stay together: an assistant message that
 * calls tools plus the tool results answering it; any other message alone.
 * Tool results without their call are dropped, so a context never starts
 * with (or contains) an orphan tool message, which providers reject.
 */
function toUnits(rows: StoredRow[]): StoredRow[][] {
  const units: StoredRow[][] = [];
  let open: { unit: StoredRow[]; ids: Set<string> } | undefined;
  for (const r of rows) {
    if (r.role === "tool") {
      if (open && r.tool_call_id !== null && open.ids.has(r.tool_call_id)) open.unit.push(r);
      continue;
    }
    const unit = [r];
    units.push(unit);
    const calls = parseToolCalls(r.tool_calls);
    open = r.role === "assistant" && calls.length > 0
      ? { unit, ids: new Set(calls.map((c) => c.id)) }
      : undefined;
  }
  return units;
}

function parseToolCalls(raw: string | null): ToolCall[] {
  if (!raw) return [];
  try {
    const parsed = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed as ToolCall[] : [];
  } catch {
    return [];
  }
}

/** The chat message a stored row holds. */
export function toMessage(r: StoredRow): ChatMessage {
  const m: ChatMessage = { role: r.role as ChatRole, content: r.content };
  const calls = parseToolCalls(r.tool_calls);
  if (calls.length > 0) m.tool_calls = calls;
  if (r.tool_call_id !== null) m.tool_call_id = r.tool_call_id;
  if (r.name !== null) m.name = r.name;
  return m;
}

/** The memory entry a stored row holds (`list()`). */
export function toEntry(r: StoredRow): MemoryEntry {
  return { ...toMessage(r), id: Number(r.id), turn_id: r.turn_id, created_at: r.created_at };
}

const ROLES: ReadonlySet<string> = new Set<ChatRole>(["system", "user", "assistant", "tool"]);

/** The columns a store writes for a message: what {@linkcode toMessage} reads back. */
export type StoredFields = Pick<
  StoredRow,
  "role" | "content" | "tool_calls" | "tool_call_id" | "name" | "tokens"
>;

/**
 * The columns of every message of a turn, in order. Throws a `TypeError`
 * for an unknown role before the store writes anything, so a refused turn
 * stores nothing.
 */
export function toStoredFields(messages: ChatMessage[]): StoredFields[] {
  for (const m of messages) {
    if (!ROLES.has(m.role)) throw new TypeError(`Cannot store message: unknown role "${m.role}"`);
  }
  return messages.map((m) => ({
    role: m.role,
    content: m.content ?? null,
    tool_calls: m.tool_calls?.length ? JSON.stringify(m.tool_calls) : null,
    tool_call_id: m.tool_call_id ?? null,
    name: m.name ?? null,
    tokens: estimateMessageTokens(m),
  }));
}
