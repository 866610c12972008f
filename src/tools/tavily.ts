/**
 * The `tavily_search` built-in: web search through Tavily's REST API.
 * Registered only when `TAVILY_API_KEY` is set.
 */
import type { Tool } from "./tool.ts";

export interface TavilyOptions {
  apiKey: string;
  /** e.g. https://api.tavily.com (tests point it at a local mock). */
  baseUrl: string;
  fetch?: typeof fetch;
}

export interface TavilySearchResult {
  query: string;
  answer: string | null;
  results: { title: string; url: string; content: string; score?: number }[];
}

const MAX_RESULTS_LIMIT = 10;

/** The `tavily_search` tool for the registry. */
export function createTavilyTool(options: TavilyOptions): Tool {
  const doFetch = options.fetch ?? fetch;
  const endpoint = `${options.baseUrl.replace(/\/+$/, "")}/search`;
  return {
    name: "tavily_search",
    description:
      "Searches the web and returns a short answer with the most relevant results (title, url, content). Use it for recent events or facts you are unsure about.",
    parameters: {
      type: "object",
      properties: {
        query: { type: "string", description: "What to search for" },
        max_results: {
          type: "integer",
          minimum: 1,
          maximum: MAX_RESULTS_LIMIT,
          description: "How many results to return (default 5)",
        },
        search_depth: { type: "string", enum: ["basic", "advanced"] },
      },
      required: ["query"],
    },
    async call(args, { signal }) {
      const query = typeof args.query === "string" ? args.query.trim() : "";
      if (!query) throw new TypeError(`"query" must be a non-empty string`);
      const maxResults = Math.min(
        MAX_RESULTS_LIMIT,
        Math.max(1, Number.isInteger(args.max_results) ? Number(args.max_results) : 5),
      );
      const depth = args.search_depth === "advanced" ? "advanced" : "basic";
      const res = await doFetch(endpoint, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${options.apiKey}`,
        },
        body: JSON.stringify({
          query,
          max_results: maxResults,
          search_depth: depth,
          include_answer: true,
        }),
        signal,
      });
      if (!res.ok) {
        const text = (await res.text()).slice(0, 300).replaceAll(options.apiKey, "[redacted]");
        throw new Error(`Tavily search failed: HTTP ${res.status} ${text}`.trim());
      }
      // deno-lint-ignore no-explicit-any
      const data: any = await res.json();
      const results = Array.isArray(data?.results) ? data.results : [];
      return {
        query,
        answer: typeof data?.answer === "string" ? data.answer : null,
        results: results.slice(0, maxResults).map((r: Record<string, unknown>) => ({
          title: String(r.title ?? ""),
          url: String(r.url ?? ""),
          content: String(r.content ?? ""),
          ...(typeof r.score === "number" ? { score: r.score } : {}),
        })),
      } satisfies TavilySearchResult;
    },
  };
}
